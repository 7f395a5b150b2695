"""Payments: the ledger, payment records and their flows, and the online payment platforms."""
