"""The procedure through the API on both databases: an agent takes an application, the bureau verifies and
organises, two assessors fill in and sign the form, the bureau reviews, the notice runs its 7 days, the
result becomes final and the elder's level; an objection gives one re-assessment. Answers are for assessors
and supervisors only, and reading them is audited."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pypdf import PdfReader
from sqlalchemy import select, update

from dispatch.alerts.models import Alert, AlertAudience
from dispatch.api.state import AppServices
from dispatch.assessments import reassessment, scheduled
from dispatch.assessments.instrument import load
from dispatch.assessments.models import Applicant, Assessment
from dispatch.assessments.workflow import Procedure, Step
from dispatch.audit.models import AuditEntry
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.elders.models import HealthRecord
from dispatch.localtime import local_date
from tests.factories import elder_payload, operator_headers

BEST = {code: max(item.options, key=lambda o: o.score).code for code, item in load().items.items()}
MILD = BEST | {"B.1.1": "3"}  # 89 points: level 1


async def move(
    client: httpx.AsyncClient, who: dict[str, str], assessment_id: int, **body: Any
) -> httpx.Response:
    return await client.post(f"/api/v1/assessments/{assessment_id}/transition", json=body, headers=who)


async def test_an_application_goes_through_the_procedure_to_the_elder_s_level(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent)
    supervisor = await operator_headers(app_services, client, Role.supervisor)
    first = await operator_headers(app_services, client, Role.assessor)
    second = await operator_headers(app_services, client, Role.assessor)
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()

    applied = await client.post(
        "/api/v1/assessments",
        json={"elder_id": elder["id"], "applicant": "family", "materials": ["application_form"]},
        headers=agent,
    )
    assert applied.status_code == 201, applied.text
    assessment = applied.json()
    aid = assessment["id"]
    assert (assessment["state"], assessment["missing"], assessment["due_on"]) == (
        "incomplete",
        ["identity_documents"],
        None,
    )
    accepted = await move(client, agent, aid, to="accepted", materials=["identity_documents"])
    assert (accepted.json()["state"], accepted.json()["due_on"]) == ("accepted", "2026-03-09")  # Mon + 5
    assert (await move(client, agent, aid, to="verified")).status_code == 403  # the bureau's step
    assert (await move(client, supervisor, aid, to="verified")).json()["due_on"] == "2026-03-09"
    organised = (await move(client, supervisor, aid, to="organised")).json()
    assert (organised["state"], organised["due_on"]) == ("organised", "2026-03-16")  # 10 working days

    url = f"/api/v1/assessments/{aid}/answers"
    loaded = (await client.get(f"/api/v1/assessments/{aid}", headers=first)).json()["version"]
    draft = await client.put(url, json={"version": loaded, "answers": {"B.1.1": "3"}}, headers=first)
    assert (draft.status_code, draft.json()["version"]) == (200, loaded + 1)
    # a tablet that was offline saves over the older version
    stale = await client.put(url, json={"version": loaded, "answers": {}}, headers=second)
    assert (stale.status_code, stale.json()["reason"]) == (409, "stale_version")
    unsigned = await move(client, first, aid, to="assessed")
    assert (unsigned.status_code, unsigned.json()["reason"]) == (422, "answers_incomplete")
    needs = {
        "services": [{"service_type": "meal_assistance", "per_week": 5, "preferred": ["midday"]}],
        "living": "alone",
        "economic": "subsistence_allowance",
    }
    whole = {"version": loaded + 1, "answers": MILD, "findings": {"flags": ["dementia"]}, "needs": needs}
    wrong = await client.put(url, json=whole | {"needs": {"living": "on the moon"}}, headers=second)
    assert wrong.status_code == 422
    saved = await client.put(url, json=whole, headers=second)
    assert (saved.status_code, saved.json()["needs"]["services"][0]["per_week"]) == (200, 5)
    assert (await move(client, first, aid, to="assessed")).json()["state"] == "organised"  # one signature
    twice = await move(client, first, aid, to="assessed")
    assert (twice.status_code, twice.json()["reason"]) == (409, "signed_twice")
    assert (await move(client, second, aid, to="assessed")).json()["state"] == "assessed"

    assert (await client.get(f"/api/v1/assessments/{aid}", headers=agent)).status_code == 403
    full = (await client.get(f"/api/v1/assessments/{aid}", headers=supervisor)).json()
    assert (full["total"], full["initial_level"], full["applied_rules"], full["answers"]["B.1.1"]) == (
        89,
        1,
        ["diagnosis"],
        "3",
    )
    assert (full["subsidy_suggested"], full["suggested_fen"], full["allowance_fen"]) == (True, 10_000, 0)
    pdf = await client.get(f"/api/v1/assessments/{aid}/report.pdf", headers=supervisor)
    assert (pdf.status_code, pdf.headers["content-type"]) == (200, "application/pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    for printed in (
        elder["name"],
        "自理能力",
        "31 / 32 分",
        "15 / 15 分",
        "28 / 28 分",
        "总分",
        "89 / 90 分",
    ):
        assert printed in text
    assert "最终等级 2 能力中度受损（中度失能）" in text.replace("\n", " ")
    assert (await client.get(f"/api/v1/assessments/{aid}/report.pdf", headers=agent)).status_code == 403
    async with app_services.sessions() as session:
        reads = (
            await session.scalars(
                select(AuditEntry.action).where(
                    AuditEntry.entity_type == "assessment", AuditEntry.entity_id == str(aid)
                )
            )
        ).all()
    assert {"assessment.read", "assessment.report"} <= set(reads)

    noticed = (await move(client, supervisor, aid, to="public_notice", note="拟享受补贴")).json()
    assert noticed["due_on"] == "2026-03-09"  # 7 calendar days
    early = await move(client, supervisor, aid, to="final")
    assert (early.status_code, early.json()["reason"]) == (409, "notice_running")
    clock.advance(8 * 86400)
    supervisor = await operator_headers(app_services, client, Role.supervisor)
    agent = await operator_headers(app_services, client, Role.agent)
    assert (await move(client, supervisor, aid, to="final")).json()["state"] == "final"

    [row] = (await client.get("/api/v1/assessments", params={"elder_id": elder["id"]}, headers=agent)).json()[
        "items"
    ]
    assert (row["level"], row["state"], "answers" in row, row["allowance_fen"]) == (2, "final", False, 10_000)
    async with app_services.sessions() as session:
        health = await session.get(HealthRecord, elder["id"])
    assert health is not None
    assert health.self_care_ability == 2

    proposal = (await client.get(f"/api/v1/assessments/{aid}/plan", headers=agent)).json()
    assert proposal["level"] == 2
    assert [(line["service_type"], line["per_week"]) for line in proposal["lines"]] == [
        ("meal_assistance", 5),
        ("cleaning", 1),
        ("health_care", 1),
    ]
    edited = [
        {k: line[k] for k in ("service_type", "weekdays", "start_time", "end_time")}
        for line in proposal["lines"]
    ]
    made = await client.post(f"/api/v1/assessments/{aid}/plan", json={"lines": edited[:2]}, headers=agent)
    assert made.status_code == 201, made.text
    assert [(p["service_type"], p["weekdays"], p["starts_on"]) for p in made.json()] == [
        ("meal_assistance", [1, 2, 3, 4, 5], "2026-03-11"),
        ("cleaning", [3], "2026-03-11"),
    ]
    twice = await client.post(f"/api/v1/assessments/{aid}/plan", json={"lines": edited[:1]}, headers=agent)
    assert (twice.status_code, twice.json()["reason"]) == (409, "plans_made")

    objection = {"elder_id": elder["id"], "procedure": "reassessment", "reassessment_of": aid}
    again = await client.post("/api/v1/assessments", json=objection, headers=agent)
    assert (again.status_code, again.json()["state"], again.json()["due_on"]) == (
        201,
        "organised",
        "2026-03-24",
    )
    refused = await client.post("/api/v1/assessments", json=objection, headers=agent)
    assert (refused.status_code, refused.json()["reason"]) == (409, "no_objection_possible")


async def test_a_late_verification_alerts_the_supervisors_once_naming_the_street_office(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent)
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    materials = ["application_form", "identity_documents"]
    applied = await client.post(
        "/api/v1/assessments", json={"elder_id": elder["id"], "materials": materials}, headers=agent
    )
    assert applied.json()["due_on"] == "2026-03-09"  # verification: 5 working days from Monday 2 March

    clock.advance(7 * 86400)  # Monday 9 March: the last day, not late yet
    assert (await app_services.desk.run_once())["assessments_overdue"] == 0
    clock.advance(86400)  # Tuesday 10 March
    assert (await app_services.desk.run_once())["assessments_overdue"] == 1
    assert (await app_services.desk.run_once())["assessments_overdue"] == 0
    async with app_services.sessions() as session:
        alerts = (await session.scalars(select(Alert).where(Alert.kind == "assessment_overdue"))).all()
    assert [(a.detail["assessment_id"], a.detail["step"], a.detail["owner"], a.audience) for a in alerts] == [
        (applied.json()["id"], "accepted", "street_office", AlertAudience.supervisors)
    ]
    assert alerts[0].text.endswith("责任方：街道办")  # the supervisor knows whom to chase
    agent = await operator_headers(app_services, client, Role.agent)
    late = (await client.get("/api/v1/assessments", params={"overdue": "true"}, headers=agent)).json()[
        "items"
    ]
    assert [row["id"] for row in late] == [applied.json()["id"]]


async def final_assessment(app_services: AppServices, elder_id: int, operator_id: int, at: datetime) -> int:
    """A final result stored as the procedure would leave it (the procedure itself is tested above)."""
    async with app_services.sessions() as session:
        assessment = Assessment(
            elder_id=elder_id,
            elder_name="测试老人",
            procedure=Procedure.standard,
            step=Step.final,
            instrument="gbt-42195-2022",
            applicant=Applicant.elder,
            step_entered_at=at,
            level=2,
            created_by=operator_id,
            created_at=at,
            updated_at=at,
        )
        session.add(assessment)
        await session.commit()
        return assessment.id


async def test_a_fall_since_the_last_result_or_a_year_on_proposes_a_reassessment_once(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent)
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()
    fallen, quiet = [
        (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json() for _ in range(2)
    ]
    for elder in (fallen, quiet):
        await final_assessment(app_services, elder["id"], me["id"], clock.now())
    clock.advance(3600)
    fall = {"elder_id": fallen["id"], "priority": "P2", "category": "fall"}
    assert (await client.post("/api/v1/calls", json=fall, headers=agent)).status_code == 201

    async def proposals() -> list[tuple[int, list[str]]]:
        async with app_services.sessions() as session:
            await scheduled.propose_reassessments(session=session, clock=clock)
            await session.commit()
            alerts = await session.scalars(
                select(Alert).where(Alert.kind == "reassessment_due").order_by(Alert.id)
            )
            return [(a.detail["elder_id"], a.detail["reasons"]) for a in alerts]

    assert await proposals() == [(fallen["id"], ["fall"])]
    assert await proposals() == [(fallen["id"], ["fall"])]  # once per result
    clock.advance(365 * 86400)
    assert await proposals() == [(fallen["id"], ["fall"]), (quiet["id"], ["yearly"])]


def test_a_care_call_that_found_the_elder_worse_is_a_reason_to_assess_again() -> None:
    final_at = datetime(2026, 3, 2, tzinfo=UTC)
    later = final_at + timedelta(days=40)
    assert reassessment.reasons(final_at=final_at, now=later, falls=0, hospital_stays=0, declines=1) == [
        "decline"
    ]
    assert reassessment.reasons(final_at=final_at, now=later, falls=1, hospital_stays=1, declines=0) == [
        "fall",
        "hospital",
    ]
    assert reassessment.reasons(final_at=final_at, now=later, falls=0, hospital_stays=0, declines=0) == []


async def test_a_final_severe_level_puts_the_elder_on_weekly_care_calls(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent)
    supervisor = await operator_headers(app_services, client, Role.supervisor)
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()

    async def elder_at_no_risk() -> dict[str, Any]:
        payload = elder_payload(living_alone=False, subsidy_categories=["self_paying"])
        payload["health"]["self_care_ability"] = 0
        response = await client.post("/api/v1/elders", json=payload, headers=agent)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    assessed, control = await elder_at_no_risk(), await elder_at_no_risk()
    aid = await final_assessment(app_services, assessed["id"], me["id"], clock.now())
    async with app_services.sessions() as session:  # noticed with a severe level, the notice over
        await session.execute(
            update(Assessment)
            .where(Assessment.id == aid)
            .values(step=Step.public_notice, level=3, due_on=local_date(clock.now()) - timedelta(days=1))
        )
        await session.commit()
    assert (await move(client, supervisor, aid, to="final")).json()["state"] == "final"

    assert (await client.post("/api/v1/care-calls/schedule", headers=supervisor)).status_code == 200
    cadences = {
        c["elder_id"]: c["cadence"]
        for c in (await client.get("/api/v1/care-calls", params={"limit": 500}, headers=supervisor)).json()[
            "items"
        ]
    }
    assert (cadences[assessed["id"]], cadences[control["id"]]) == ("weekly", "monthly")


async def test_an_elder_has_one_open_application_and_the_second_is_told_which(
    client: httpx.AsyncClient, app_services: AppServices, clock: FakeClock
) -> None:
    agent = await operator_headers(app_services, client, Role.agent)
    me = (await client.get("/api/v1/auth/me", headers=agent)).json()
    elder = (await client.post("/api/v1/elders", json=elder_payload(), headers=agent)).json()
    final = await final_assessment(app_services, elder["id"], me["id"], clock.now())
    application = {"elder_id": elder["id"], "materials": ["application_form", "identity_documents"]}

    first = await client.post("/api/v1/assessments", json=application, headers=agent)
    assert first.status_code == 201, first.text  # a final result does not count: a new one may start
    second = await client.post(
        "/api/v1/assessments", json=application | {"procedure": "simplified"}, headers=agent
    )
    assert (second.status_code, second.json()["reason"], second.json()["params"]) == (
        409,
        "assessment_open",
        {"assessment_id": first.json()["id"], "open_step": "accepted"},
    )
    # DECIDED: an objection waits too while another application is open (it would set the level twice)
    objection = {"elder_id": elder["id"], "procedure": "reassessment", "reassessment_of": final}
    blocked = await client.post("/api/v1/assessments", json=objection, headers=agent)
    assert (blocked.status_code, blocked.json()["reason"]) == (409, "assessment_open")

    assert (await move(client, agent, first.json()["id"], to="withdrawn")).json()["state"] == "withdrawn"
    again = await client.post("/api/v1/assessments", json=objection, headers=agent)
    assert (again.status_code, again.json()["state"]) == (201, "organised")  # the objection's re-assessment
    async with app_services.sessions() as session:
        rows = (
            await session.execute(select(Assessment.step).where(Assessment.elder_id == elder["id"]))
        ).all()
    assert sorted(step for (step,) in rows) == sorted([Step.final, Step.withdrawn, Step.organised])
