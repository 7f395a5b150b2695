"""Simulated watches, phones and providers, wire-level fakes of external services, and load runs."""
