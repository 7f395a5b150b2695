"""The job page tests' fixtures."""

from __future__ import annotations

from typing import Any

import pytest

from dispatch.payments import charges


@pytest.fixture
def charged(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The orders the charges hook was called for, in order."""
    calls: list[int] = []

    async def on_evidenced(**kwargs: Any) -> None:
        calls.append(kwargs["order_id"])

    monkeypatch.setattr(charges, "on_evidenced", on_evidenced)
    return calls
