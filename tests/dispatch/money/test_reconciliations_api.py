"""The days reconciled, through the API on both databases: newest day first with their mismatches (both
sides, in fen), paged; supervisors only."""

from __future__ import annotations

from datetime import date, timedelta

import httpx

from dispatch.api.state import AppServices
from dispatch.clock import FakeClock
from dispatch.payments.reconcile import Reconciliation

MISMATCH = {"kind": "payment", "number": "P0000000040", "platform_fen": 4000, "ledger_fen": None}
REFUND_MISMATCH = {"kind": "refund", "number": "R0000000007", "platform_fen": 1000, "ledger_fen": 1500}


async def test_reconciliation_days_are_listed_newest_first_with_both_sides(
    client: httpx.AsyncClient,
    app_services: AppServices,
    clock: FakeClock,
    agent: dict[str, str],
    supervisor: dict[str, str],
) -> None:
    first = date(2026, 2, 26)
    async with app_services.sessions() as session:
        for n, mismatches in enumerate(([], [MISMATCH, REFUND_MISMATCH], [])):
            session.add(
                Reconciliation(
                    day=first + timedelta(days=n),
                    platform="wechat",
                    checked_at=clock.now(),
                    lines=3 + n,
                    mismatches=mismatches,
                )
            )
        await session.commit()

    listed = await client.get("/api/v1/reconciliations", headers=supervisor)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 3
    assert [(d["day"], d["lines"], d["mismatches"]) for d in page["items"]] == [
        ("2026-02-28", 5, []),
        ("2026-02-27", 4, [MISMATCH, REFUND_MISMATCH]),
        ("2026-02-26", 3, []),
    ]
    assert page["items"][0]["platform"] == "wechat"

    second = await client.get("/api/v1/reconciliations", params={"limit": 1, "offset": 1}, headers=supervisor)
    assert second.status_code == 200, second.text
    assert second.json()["total"] == 3
    assert [d["day"] for d in second.json()["items"]] == ["2026-02-27"]

    refused = await client.get("/api/v1/reconciliations", headers=agent)
    assert refused.status_code == 403
