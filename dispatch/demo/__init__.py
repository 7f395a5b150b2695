"""The demo city: a deterministic, obviously fictional dataset for one district of Fuzhou."""
