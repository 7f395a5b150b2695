"""Read-only views across the domains: an elder's whole timeline, and the history of closed calls."""
