"""Load runs: benchmarks that print a table (not part of the test suite)."""
