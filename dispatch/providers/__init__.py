"""Franchised service providers (加盟商) and their service staff."""
