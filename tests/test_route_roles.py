"""Who may call what: every route of the app is in ROLE_OF with the least role it needs, and each route
refuses every caller below that role (401 without credentials, 403 for a role too low). A route added
without an entry here fails the suite, so nobody adds one without deciding who may call it."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from enum import IntEnum
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.routing import APIWebSocketRoute
from starlette.routing import BaseRoute, Mount
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.api.app import create_app
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from simulators.fake_wechatpay.keys import generate_keys
from tests.conftest import START, sqlite_settings
from tests.factories import PASSWORD, make_operator


class Caller(IntEnum):
    """Who calls; operators are ordered, the signed callers stand apart (no login opens their routes)."""

    anonymous = 0
    agent = 1
    supervisor = 2
    admin = 3
    assessor = 4  # outside the staff's ranks: admitted only where a route names assessors
    device_signed = 10  # an elder's phone: HMAC over the body with the device's own secret
    webhook_signed = 11  # Twilio: X-Twilio-Signature over the URL and form
    link_signed = 12  # a provider's job page: the signed token in the path is the only credential
    platform_signed = 13  # WeChat Pay: its RSA signature over timestamp, nonce and body


A, AGENT, SUP, ADMIN = Caller.anonymous, Caller.agent, Caller.supervisor, Caller.admin
ASSESSOR = Caller.assessor
# A route for named roles rather than a rank: exactly these operators are admitted.
Roles = frozenset[Caller]
ANY_OPERATOR: Roles = frozenset({AGENT, SUP, ADMIN, ASSESSOR})
DEVICE, WEBHOOK, LINK = Caller.device_signed, Caller.webhook_signed, Caller.link_signed
PLATFORM = Caller.platform_signed

ROLE_OF: dict[tuple[str, str], Caller | Roles] = {
    # public: the console's files, health, API docs, logging in
    ("GET", "/"): A,
    ("MOUNT", "/console"): A,
    ("MOUNT", "/console/vendor/htm"): A,
    ("MOUNT", "/console/vendor/leaflet"): A,
    ("MOUNT", "/console/vendor/noto-sans-sc"): A,
    ("MOUNT", "/console/vendor/qrcode-generator"): A,
    ("GET", "/healthz"): A,
    ("GET", "/readyz"): A,
    ("GET", "/metrics"): A,
    ("GET", "/openapi.json"): A,
    ("GET", "/docs"): A,
    ("GET", "/docs/oauth2-redirect"): A,
    ("GET", "/redoc"): A,
    ("POST", "/api/v1/auth/login"): A,
    # signed by something other than an operator's login
    ("POST", "/api/v1/device-events"): DEVICE,
    ("POST", "/webhooks/twilio/sms"): WEBHOOK,
    ("POST", "/webhooks/twilio/status"): WEBHOOK,
    ("POST", "/webhooks/twilio/voice"): WEBHOOK,
    ("POST", "/webhooks/twilio/voice/status"): WEBHOOK,
    ("POST", "/webhooks/twilio/voice/recording"): WEBHOOK,
    ("POST", "/webhooks/wechatpay/notify"): PLATFORM,
    ("GET", "/p/{token}"): LINK,
    ("GET", "/p/{token}/job"): LINK,
    ("POST", "/p/{token}/accept"): LINK,
    ("POST", "/p/{token}/decline"): LINK,
    ("POST", "/p/{token}/check-in"): LINK,
    ("PUT", "/p/{token}/items"): LINK,
    ("POST", "/p/{token}/photo"): LINK,
    ("POST", "/p/{token}/code"): LINK,
    ("POST", "/p/{token}/check-out"): LINK,
    # any operator
    ("POST", "/api/v1/auth/logout"): ANY_OPERATOR,
    ("GET", "/api/v1/auth/me"): ANY_OPERATOR,
    ("POST", "/api/v1/auth/ws-ticket"): AGENT,
    ("WS", "/ws/console"): AGENT,
    ("GET", "/api/v1/console/config"): AGENT,
    ("GET", "/api/v1/elders"): AGENT,
    ("GET", "/api/v1/search"): AGENT,
    ("GET", "/api/v1/assessment-instrument"): ANY_OPERATOR,
    ("POST", "/api/v1/assessments"): AGENT,
    ("GET", "/api/v1/assessments"): ANY_OPERATOR,
    ("GET", "/api/v1/assessments/{assessment_id}"): frozenset({SUP, ADMIN, ASSESSOR}),  # the answers
    ("GET", "/api/v1/assessments/{assessment_id}/report.pdf"): frozenset({SUP, ADMIN, ASSESSOR}),
    ("PUT", "/api/v1/assessments/{assessment_id}/answers"): frozenset({ASSESSOR}),
    ("GET", "/api/v1/assessments/{assessment_id}/plan"): AGENT,
    ("POST", "/api/v1/assessments/{assessment_id}/plan"): AGENT,
    ("POST", "/api/v1/assessments/{assessment_id}/transition"): ANY_OPERATOR,  # each step's role: the service
    ("GET", "/api/v1/elders/{elder_id}/timeline"): AGENT,
    ("POST", "/api/v1/elders"): AGENT,
    ("GET", "/api/v1/elders/{elder_id}"): AGENT,
    ("PATCH", "/api/v1/elders/{elder_id}"): AGENT,
    ("GET", "/api/v1/elders/{elder_id}/health"): AGENT,
    ("PUT", "/api/v1/elders/{elder_id}/health"): AGENT,
    ("GET", "/api/v1/elders/{elder_id}/contacts"): AGENT,
    ("PUT", "/api/v1/elders/{elder_id}/contacts"): AGENT,
    ("GET", "/api/v1/devices"): AGENT,
    ("POST", "/api/v1/devices"): AGENT,
    ("GET", "/api/v1/devices/{device_id}"): AGENT,
    ("POST", "/api/v1/devices/{device_id}/commands"): AGENT,  # power_off, reset, sos_numbers: supervisors
    ("GET", "/api/v1/device-events"): AGENT,
    ("GET", "/api/v1/device-events/parked"): SUP,
    ("POST", "/api/v1/device-events/{event_id}/unpark"): SUP,
    ("GET", "/api/v1/providers"): AGENT,
    ("GET", "/api/v1/providers/nearby"): AGENT,
    ("GET", "/api/v1/providers/{provider_id}"): AGENT,
    ("GET", "/api/v1/calls"): AGENT,
    ("POST", "/api/v1/calls"): AGENT,
    ("GET", "/api/v1/calls/{call_id}"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/acknowledge"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/claim"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/notes"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/notify"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/transition"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/close"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/dispatch"): AGENT,
    ("GET", "/api/v1/calls/{call_id}/jobs"): AGENT,
    ("POST", "/api/v1/calls/{call_id}/handoff-120"): AGENT,
    ("GET", "/api/v1/sms/outbox"): AGENT,
    ("GET", "/api/v1/sms"): AGENT,
    ("GET", "/api/v1/sms/{sms_id}"): AGENT,
    ("POST", "/api/v1/sms/replies"): AGENT,
    ("POST", "/api/v1/service-orders"): AGENT,
    ("GET", "/api/v1/service-orders"): AGENT,
    ("GET", "/api/v1/service-orders/{order_id}"): AGENT,
    ("POST", "/api/v1/service-orders/{order_id}/dispatch"): AGENT,
    ("POST", "/api/v1/service-orders/{order_id}/cancel"): AGENT,
    ("POST", "/api/v1/service-orders/{order_id}/fail"): AGENT,
    ("POST", "/api/v1/recurring-plans"): AGENT,
    ("GET", "/api/v1/recurring-plans"): AGENT,
    ("POST", "/api/v1/recurring-plans/{plan_id}/stop"): AGENT,
    ("GET", "/api/v1/follow-ups"): AGENT,
    ("GET", "/api/v1/follow-ups/{follow_up_id}"): AGENT,
    ("POST", "/api/v1/follow-ups/{follow_up_id}"): AGENT,
    ("POST", "/api/v1/complaints"): AGENT,
    ("GET", "/api/v1/complaints"): AGENT,  # an agent never sees those about themselves
    ("GET", "/api/v1/complaints/{complaint_id}"): AGENT,
    ("POST", "/api/v1/complaints/{complaint_id}/notes"): AGENT,  # the assignee, supervisors and admins
    ("GET", "/api/v1/care-calls"): AGENT,
    ("GET", "/api/v1/care-calls/{care_call_id}"): AGENT,
    ("POST", "/api/v1/care-calls/{care_call_id}/attempts"): AGENT,
    ("GET", "/api/v1/alerts"): AGENT,
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): AGENT,  # an alert for supervisors: supervisors
    ("GET", "/api/v1/coverage"): AGENT,
    ("PUT", "/api/v1/agents/me/state"): AGENT,  # agents and supervisors (an admin takes no calls: 409)
    ("GET", "/api/v1/agents"): AGENT,  # the wallboard, read-only
    ("POST", "/api/v1/phone-calls/dial"): AGENT,
    # in-call controls: the agent on the call, supervisors and admins (403 for other agents)
    ("POST", "/api/v1/phone-calls/{phone_call_id}/hold"): AGENT,
    ("POST", "/api/v1/phone-calls/{phone_call_id}/mute"): AGENT,
    ("POST", "/api/v1/phone-calls/{phone_call_id}/add-party"): AGENT,
    ("POST", "/api/v1/phone-calls/{phone_call_id}/transfer"): AGENT,
    ("POST", "/api/v1/phone-calls/{phone_call_id}/hangup"): AGENT,
    ("POST", "/api/v1/phone-calls/{phone_call_id}/wrap-up-done"): AGENT,
    ("GET", "/api/v1/phone-calls"): AGENT,
    ("POST", "/api/v1/phone-calls"): AGENT,
    ("GET", "/api/v1/phone-calls/{phone_call_id}"): AGENT,
    ("GET", "/api/v1/phone-calls/{phone_call_id}/caller"): AGENT,
    ("GET", "/api/v1/phone-calls/{phone_call_id}/recording"): AGENT,  # the agent who took it; supervisors
    ("GET", "/api/v1/callbacks"): AGENT,
    ("POST", "/api/v1/callbacks/{callback_id}/done"): AGENT,
    # money: agents take payments; a refund above the approval limit needs a supervisor (the service)
    ("GET", "/api/v1/elders/{elder_id}/allowance"): AGENT,
    ("POST", "/api/v1/elders/{elder_id}/payments"): AGENT,
    ("POST", "/api/v1/service-orders/{order_id}/payments"): AGENT,
    ("GET", "/api/v1/payments"): AGENT,
    ("POST", "/api/v1/payments/{payment_id}/refunds"): AGENT,
    ("POST", "/api/v1/payments/{payment_id}/send-link"): AGENT,
    # supervisors (and admins)
    ("PATCH", "/api/v1/devices/{device_id}"): SUP,
    ("POST", "/api/v1/providers"): SUP,
    ("PATCH", "/api/v1/providers/{provider_id}"): SUP,
    ("POST", "/api/v1/providers/{provider_id}/status"): SUP,
    ("PUT", "/api/v1/providers/{provider_id}/admission/{criterion}"): SUP,
    ("POST", "/api/v1/providers/{provider_id}/staff"): SUP,
    ("PUT", "/api/v1/providers/{provider_id}/staff/{staff_id}"): SUP,
    ("POST", "/api/v1/complaints/{complaint_id}/assign"): SUP,
    ("POST", "/api/v1/complaints/{complaint_id}/resolve"): SUP,
    ("POST", "/api/v1/care-calls/schedule"): SUP,
    ("GET", "/api/v1/quality/providers"): SUP,
    ("GET", "/api/v1/quality/agents"): SUP,
    ("GET", "/api/v1/service-evidence"): SUP,
    ("GET", "/api/v1/service-evidence/{order_id}/photo"): SUP,
    ("GET", "/api/v1/voice/stats"): AGENT,
    ("GET", "/api/v1/ledger/check"): SUP,
    ("GET", "/api/v1/reconciliations"): SUP,
    ("GET", "/api/v1/settlements"): SUP,
    ("POST", "/api/v1/settlements/compute"): SUP,
    ("POST", "/api/v1/settlements/{settlement_id}/approve"): SUP,
    ("POST", "/api/v1/settlements/{settlement_id}/paid"): SUP,
    ("GET", "/api/v1/settlements/{settlement_id}/statement.xlsx"): SUP,
    ("GET", "/api/v1/settlements/{settlement_id}/statement.pdf"): SUP,
    ("GET", "/api/v1/subsidy-claims/{month}.xlsx"): SUP,
    # admins
    ("GET", "/api/v1/operators"): ADMIN,
    ("POST", "/api/v1/operators"): ADMIN,
    ("PATCH", "/api/v1/operators/{operator_id}"): ADMIN,
    ("GET", "/api/v1/audit"): ADMIN,
    ("POST", "/api/v1/operators/{operator_id}/sign-out"): ADMIN,
    ("GET", "/api/v1/settings"): ADMIN,
}

STAFF = (Caller.agent, Caller.supervisor, Caller.admin)
OPERATORS = (*STAFF, Caller.assessor)
# What anyone gets from a signed route without its signature (a device: 401; Twilio's webhooks and a job page
# link not signed by us: 403).
SIGNED_REFUSAL = {
    Caller.device_signed: 401,
    Caller.webhook_signed: 403,
    Caller.link_signed: 403,
    Caller.platform_signed: 401,
}


def _flat(routes: list[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, whether this FastAPI keeps included routers nested or not."""
    try:
        from fastapi.routing import iter_route_contexts  # FastAPI >= 0.16x nests included routers
    except ImportError:  # pragma: no cover - older FastAPI: app.routes is flat
        yield from routes
        return
    for context in iter_route_contexts(routes):
        yield context.original_route


def app_routes(app: FastAPI) -> set[tuple[str, str]]:
    """(method, path) of every route; WebSockets as WS, mounted apps as MOUNT, HEAD left to its GET."""
    found: set[tuple[str, str]] = set()
    for route in _flat(app.routes):
        path = getattr(route, "path", "")
        if isinstance(route, APIWebSocketRoute):
            found.add(("WS", path))
        elif isinstance(route, Mount):
            found.add(("MOUNT", path))
        else:
            methods = getattr(route, "methods", None) or set()
            found |= {(method, path) for method in methods if method != "HEAD"}
    return found


def concrete(path: str) -> str:
    """The path with every parameter filled in."""
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[tuple[TestClient, dict[Caller, dict[str, str]]]]:
    """One running app (SQLite; Twilio webhooks, voice and WeChat Pay on) with an operator of each role logged in."""
    data_dir = tmp_path_factory.mktemp("roles")
    shutil.copy(sqlite_template, data_dir / "dispatch.sqlite3")
    voice = {
        "twilio_account_sid": "AC" + "0" * 32,
        "voice_number": "+8659112349",
        "voice_tick_seconds": 3600.0,
    }
    wechat = generate_keys().settings_update(data_dir / "wechatpay", "http://127.0.0.1:9")
    settings = sqlite_settings(data_dir).model_copy(
        update={"twilio_auth_token": "test-auth-token", **voice, **wechat}
    )
    app = create_app(settings, clock=FakeClock(START))
    with TestClient(app) as client:
        assert client.portal is not None
        headers: dict[Caller, dict[str, str]] = {Caller.anonymous: {}}
        for caller in OPERATORS:
            client.portal.call(make_operator, app.state.services, caller.name, Role(caller.name))
            headers[caller] = login(client, caller.name)
        client.cookies.clear()
        yield client, headers


def login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def status_of(client: TestClient, method: str, path: str, headers: dict[str, str]) -> int:
    """The HTTP status of calling the route (a WebSocket: 401 if refused before the handshake, else 101)."""
    url = concrete(path)
    if method == "WS":
        token = headers.get("Authorization", "")[7:]
        cookies = {"dispatch_session": token} if token else {}
        client.cookies.clear()
        client.cookies.update(cookies)
        try:
            with client.websocket_connect(url) as ws:
                ws.receive_json()
                return 101
        except WebSocketDisconnect as refused:
            return 401 if refused.code == 4401 else 403
        finally:
            client.cookies.clear()
    if method == "MOUNT":
        return int(client.get(url + "/", headers=headers, follow_redirects=False).status_code)
    return int(client.request(method, url, headers=headers, json={}).status_code)


def test_every_route_is_in_the_table() -> None:
    routes = app_routes(create_app(sqlite_settings(Path("unused"))))
    unlisted = sorted(routes - ROLE_OF.keys())
    assert not unlisted, f"decide who may call these routes and add them to ROLE_OF: {unlisted}"
    gone = sorted(ROLE_OF.keys() - routes)
    assert not gone, f"these routes are no more: take them out of ROLE_OF: {gone}"


def admitted(needed: Caller | Roles) -> list[Caller]:
    """The operators a route admits: those it names, or the staff of its rank and above."""
    if isinstance(needed, frozenset):
        return sorted(needed)
    return [caller for caller in STAFF if caller >= needed]


def callers_below(needed: Caller | Roles) -> list[Caller]:
    """Who must be refused: every operator for a signed route, nobody for a public one, else everyone
    else (assessors included: they are outside the staff's ranks)."""
    if needed is Caller.anonymous:
        return []
    if needed in SIGNED_REFUSAL:
        return [Caller.anonymous, *OPERATORS]
    return [caller for caller in (Caller.anonymous, *OPERATORS) if caller not in admitted(needed)]


def refusal_for(needed: Caller | Roles, caller: Caller) -> int:
    """401 without credentials (or without a device's signature), 403 for a role too low or a bad webhook."""
    if isinstance(needed, Caller) and needed in SIGNED_REFUSAL:
        return SIGNED_REFUSAL[needed]
    return 401 if caller is Caller.anonymous else 403


def test_every_route_refuses_callers_below_its_role(
    site: tuple[TestClient, dict[Caller, dict[str, str]]],
) -> None:
    client, headers = site
    wrong: list[str] = []
    for (method, path), needed in sorted(ROLE_OF.items()):
        for caller in callers_below(needed):
            expected = refusal_for(needed, caller)
            got = status_of(client, method, path, headers[caller])
            if got != expected:
                wrong.append(f"{method} {path} as {caller.name}: {got}, expected {expected}")
    assert not wrong, "\n".join(wrong)


def test_every_operator_route_admits_its_role_and_those_above(
    site: tuple[TestClient, dict[Caller, dict[str, str]]],
) -> None:
    client, headers = site
    wrong: list[str] = []
    for (method, path), needed in sorted(ROLE_OF.items()):
        if needed in (Caller.anonymous, *SIGNED_REFUSAL):
            continue
        for caller in admitted(needed):
            # Logging out would end the session the other checks use: a fresh one for it.
            used = login(client, caller.name) if path == "/api/v1/auth/logout" else headers[caller]
            got = status_of(client, method, path, used)
            if got in (401, 403):
                wrong.append(f"{method} {path} as {caller.name}: {got}")
            if path.endswith("/sign-out"):  # operator 1 was signed out everywhere: everyone logs in again
                headers.update({c: login(client, c.name) for c in OPERATORS})
    assert not wrong, "\n".join(wrong)
