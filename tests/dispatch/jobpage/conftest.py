"""The job page tests' fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.payments import charges


@pytest.fixture
def charged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The orders the charges hook was called for, in order (each call goes on to the real charge)."""
    calls: list[int] = []
    charge = charges.on_evidenced

    async def on_evidenced(**kwargs: Any) -> object:
        calls.append(kwargs["order_id"])
        return await charge(**kwargs)

    monkeypatch.setattr(charges, "on_evidenced", on_evidenced)
    return calls
