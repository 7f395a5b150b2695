"""The admission review (准入): a checklist of criteria with evidence; activation needs every one met."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.providers.admission import ADMISSION_LABELS_ZH, AdmissionCriterion, missing
from tests.dispatch.providers.steps import new_provider
from tests.factories import operator_headers

ALL = [criterion.value for criterion in AdmissionCriterion]


def test_missing_lists_the_criteria_not_recorded_as_met_in_checklist_order() -> None:
    admission: dict[str, Any] = {
        "staff": {"met": True, "evidence": "名册"},
        "legal_registration": {"met": False, "evidence": "执照过期"},
        "marked_prices": {"met": "yes"},
        "unknown": {"met": True},
    }
    assert missing(admission) == [
        AdmissionCriterion.legal_registration,
        AdmissionCriterion.premises_equipment,
        AdmissionCriterion.service_items,
        AdmissionCriterion.marked_prices,
        AdmissionCriterion.public_commitments,
    ]
    assert missing({c.value: {"met": True, "evidence": "ok"} for c in AdmissionCriterion}) == []
    assert ADMISSION_LABELS_ZH[AdmissionCriterion.marked_prices] == "明码标价"
    assert set(ADMISSION_LABELS_ZH) == set(AdmissionCriterion)


async def check(
    client: httpx.AsyncClient, headers: dict[str, str], provider_id: int, criterion: str, **body: Any
) -> httpx.Response:
    return await client.put(
        f"/api/v1/providers/{provider_id}/admission/{criterion}", json=body, headers=headers
    )


async def activate(client: httpx.AsyncClient, headers: dict[str, str], provider_id: int) -> httpx.Response:
    return await client.post(
        f"/api/v1/providers/{provider_id}/status",
        json={"status": "active", "reason": "admission review passed"},
        headers=headers,
    )


async def test_activation_waits_until_every_criterion_is_met_with_evidence(
    client: httpx.AsyncClient, supervisor: dict[str, str], app_services: AppServices, clock: FakeClock
) -> None:
    provider = await new_provider(client, supervisor, status="pending", admission={})
    assert provider["admission"] == {}
    assert provider["admission_missing"] == ALL

    refused = await activate(client, supervisor, provider["id"])
    assert refused.status_code == 409
    assert refused.json()["code"] == "invalid_transition"
    assert refused.json()["message"] == f"admission criteria not met: {', '.join(ALL)}"
    assert refused.json()["detail"] == {"missing": ALL}

    clock.advance(60)
    for criterion in ALL[:-1]:
        recorded = await check(
            client, supervisor, provider["id"], criterion, met=True, evidence=f"{criterion} ok"
        )
        assert recorded.status_code == 200, recorded.text
    unmet = await check(
        client, supervisor, provider["id"], "public_commitments", met=False, evidence="未公示"
    )
    assert unmet.json()["admission_missing"] == ["public_commitments"]
    assert unmet.json()["admission"]["public_commitments"] == {
        "met": False,
        "evidence": "未公示",
        "checked_by": "supervisor",
        "checked_at": "2026-03-02T01:01:00Z",
    }
    still = await activate(client, supervisor, provider["id"])
    assert (still.status_code, still.json()["detail"]) == (409, {"missing": ["public_commitments"]})
    assert "public_commitments" in still.json()["message"]
    pending = await client.get(f"/api/v1/providers/{provider['id']}", headers=supervisor)
    assert pending.json()["status"] == "pending"

    await check(client, supervisor, provider["id"], "public_commitments", met=True, evidence="承诺书已公示")
    activated = await activate(client, supervisor, provider["id"])
    assert activated.status_code == 200, activated.text
    assert (activated.json()["status"], activated.json()["admission_missing"]) == ("active", [])
    assert activated.json()["coverage_warnings"] == []

    admin = await operator_headers(app_services, client, Role.admin)
    log = await client.get("/api/v1/audit", params={"action": "provider.admission"}, headers=admin)
    entries = log.json()["items"]
    assert log.json()["total"] == 7
    assert {(e["username"], e["entity_id"]) for e in entries} == {("supervisor", str(provider["id"]))}
    assert entries[0]["detail"] == {
        "criterion": "public_commitments",
        "met": True,
        "evidence": "承诺书已公示",
    }
    assert entries[1]["detail"] == {"criterion": "public_commitments", "met": False, "evidence": "未公示"}


async def test_a_new_provider_records_the_findings_given_as_checked_by_its_creator(
    client: httpx.AsyncClient, supervisor: dict[str, str]
) -> None:
    admission = {
        "legal_registration": {"met": True, "evidence": "营业执照已核验"},
        "staff": {"met": False, "evidence": "缺健康证"},
    }
    provider = await new_provider(client, supervisor, status="pending", admission=admission)
    assert provider["admission"]["legal_registration"] == {
        "met": True,
        "evidence": "营业执照已核验",
        "checked_by": "supervisor",
        "checked_at": "2026-03-02T01:00:00Z",
    }
    assert provider["admission"]["staff"]["met"] is False
    assert provider["admission_missing"] == ALL[1:]
    assert (await activate(client, supervisor, provider["id"])).json()["detail"] == {"missing": ALL[1:]}


@pytest.mark.parametrize(
    ("criterion", "body", "message"),
    [
        ("staff", {"met": True}, "evidence is required when a criterion is met"),
        ("staff", {"met": True, "evidence": "   "}, "evidence is required when a criterion is met"),
        ("staff", {"met": True, "evidence": "x" * 2001}, "at most 2000 characters"),
        ("staff", {"evidence": "x"}, "Field required"),
        ("bribery", {"met": True, "evidence": "x"}, "legal_registration"),
    ],
)
async def test_a_bad_finding_gets_a_422(
    client: httpx.AsyncClient, supervisor: dict[str, str], criterion: str, body: dict[str, Any], message: str
) -> None:
    provider = await new_provider(client, supervisor, status="pending", admission={})
    response = await check(client, supervisor, provider["id"], criterion, **body)
    assert response.status_code == 422
    assert message in response.json()["message"]
    after = await client.get(f"/api/v1/providers/{provider['id']}", headers=supervisor)
    assert after.json()["admission"] == {}


async def test_only_managers_record_findings_and_exited_providers_are_closed(
    client: httpx.AsyncClient, supervisor: dict[str, str], agent: dict[str, str]
) -> None:
    provider = await new_provider(client, supervisor, status="pending", admission={})
    by_agent = await check(client, agent, provider["id"], "staff", met=True, evidence="ok")
    assert (by_agent.status_code, by_agent.json()["code"]) == (403, "forbidden")
    assert (await check(client, supervisor, 999_999, "staff", met=True, evidence="ok")).status_code == 404
    await client.post(
        f"/api/v1/providers/{provider['id']}/status",
        json={"status": "exited", "reason": "withdrew"},
        headers=supervisor,
    )
    closed = await check(client, supervisor, provider["id"], "staff", met=True, evidence="ok")
    assert (closed.status_code, closed.json()["code"]) == (409, "conflict")
    read = await client.get(f"/api/v1/providers/{provider['id']}", headers=agent)
    assert (read.json()["admission"], read.json()["review_flag"], read.json()["flagged_at"]) == ({}, "", None)
