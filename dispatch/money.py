"""Money is integer fen everywhere; this is how it is written for people."""

from __future__ import annotations


def yuan(fen: int) -> str:
    """2350 -> "23.50" (negative amounts keep their sign)."""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(fen), 100)
    return f"{sign}{whole}.{part:02d}"
