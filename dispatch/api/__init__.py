"""The HTTP application: factory, error mapping, health endpoints."""
