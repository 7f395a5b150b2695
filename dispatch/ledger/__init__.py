"""The money ledger (账本): double entries in integer fen, append-only; balances are sums of entries."""
