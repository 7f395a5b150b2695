"""Schemathesis over `/openapi.json`, in-process on the embedded default (SQLite) with a small seeded city:
every operation gets a few seeded examples as an admin (every route reachable) and as an agent; no answer
may be a 5xx or fall outside what the schema documents (status, content type, body)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlencode

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter
from schemathesis import APIOperation, GenerationMode
from schemathesis.python import asgi
from schemathesis.specs.openapi.schemas import OpenApiSchema
from twilio.request_validator import RequestValidator

from devices.http_api import signature
from dispatch.api.app import create_app
from dispatch.auth import service as auth_service
from dispatch.auth.actor import Actor
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.db.session import create_engine, create_session_factory, unit_of_work
from dispatch.ingest.schemas import PhoneEventIn
from dispatch.localtime import at_local, local_date
from dispatch.settings import Settings
from tests.conftest import START, _empty_all_tables, pg_settings, sqlite_settings
from tests.factories import PASSWORD, elder_payload, provider_payload

# A few examples per operation in CI, seeded so every run sends the same requests; more, another seed or
# PostgreSQL for a deep run (DISPATCH_TEST_FUZZ_EXAMPLES=100 DISPATCH_TEST_FUZZ_SEED=7
# DISPATCH_TEST_FUZZ_DATABASE=postgresql).
SEED = int(os.environ.get("DISPATCH_TEST_FUZZ_SEED", "12349"))
ADMIN_EXAMPLES = int(os.environ.get("DISPATCH_TEST_FUZZ_EXAMPLES", "6"))
AGENT_EXAMPLES = max(2, ADMIN_EXAMPLES // 3)
GARBAGE_EXAMPLES = max(40, 10 * ADMIN_EXAMPLES)
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
]
TWILIO_TOKEN = "fuzz-twilio-auth-token"
PHONE = {"imei": "phone-fuzz-1", "kind": "phone", "secret": "phone-fuzz-secret-0123456789"}
# The fuzzing operators and a few others the fuzzer may edit, deactivate or log out in their place.
FUZZERS = {"fuzz-admin": Role.admin, "fuzz-agent": Role.agent}
BYSTANDERS = {"bystander-supervisor": Role.supervisor, "bystander-agent": Role.agent}


@dataclass
class Operators:
    """The fuzzing operators' tokens, and the ids the fuzzer must not turn against them."""

    settings: Settings
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def create(self) -> None:
        asyncio.run(self._create())

    def login(self, username: str) -> None:
        """A fresh session straight from the auth service: the fuzzer's failed logins throttle HTTP ones."""
        self.tokens[username] = asyncio.run(self._start_session(username))

    def headers(self, username: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[username]}"}

    async def _create(self) -> None:
        engine = create_engine(self.settings)
        async with unit_of_work(create_session_factory(engine)) as session:
            for username, role in {**FUZZERS, **BYSTANDERS}.items():
                operator = await auth_service.create_operator(
                    session=session,
                    clock=self.clock,
                    actor=Actor.system("fuzz"),
                    username=username,
                    display_name=username,
                    role=role,
                    password=PASSWORD,
                )
                self.ids[username] = operator.id
        await engine.dispose()

    async def _start_session(self, username: str) -> str:
        engine = create_engine(self.settings)
        async with unit_of_work(create_session_factory(engine)) as session:
            operator = await auth_service.get(session=session, operator_id=self.ids[username])
            token, _ = await auth_service.start_session(
                session=session,
                clock=self.clock,
                operator=operator,
                secret_key=self.settings.secret_key,
                ttl_seconds=self.settings.session_ttl_seconds,
                ip=None,
            )
        await engine.dispose()
        return token


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _seed_city(http: asgi.ASGIClient, headers: dict[str, str], clock: FakeClock) -> None:
    """Elders with watches, providers, calls, service orders and a complaint, so ids hit real rows."""
    day = local_date(clock.now()) + timedelta(days=1)
    window = {
        "window_start": at_local(day, "09:00").isoformat(),
        "window_end": at_local(day, "11:00").isoformat(),
    }
    providers = [
        _created(http.post("/api/v1/providers", json=provider_payload(), headers=headers)) for _ in "ab"
    ]
    for provider in providers:  # active, so dispatching a call or an order makes offers
        status = {"status": "active", "reason": "准入审核通过"}
        assert http.post(f"/api/v1/providers/{provider['id']}/status", json=status, headers=headers).ok
    for number in range(3):
        elder = _created(http.post("/api/v1/elders", json=elder_payload(), headers=headers))
        device = {"imei": f"86502800000{number:04d}", "elder_id": elder["id"], "kind": "watch"}
        _created(http.post("/api/v1/devices", json=device, headers=headers))
        call = {"elder_id": elder["id"], "category": "enquiry", "reason": "想了解助餐服务"}
        _created(http.post("/api/v1/calls", json=call, headers=headers))
        order = {"elder_id": elder["id"], "service_type": "meal_assistance", **window}
        _created(http.post("/api/v1/service-orders", json=order, headers=headers))
    _created(http.post("/api/v1/devices", json={**PHONE, "elder_id": elder["id"]}, headers=headers))
    complaint = {
        "source": "phone",
        "target": "provider",
        "text": "送餐迟到",
        "provider_id": providers[0]["id"],
    }
    _created(http.post("/api/v1/complaints", json=complaint, headers=headers))


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {"checks": {"enabled": False, **{name: {"enabled": True} for name in CHECKS}}}
    )


@dataclass
class Fuzz:
    schema: OpenApiSchema
    operators: Operators
    http: asgi.ASGIClient
    settings: Settings
    clock: FakeClock


def _database(request: pytest.FixtureRequest, directory: Path) -> Settings:
    """The embedded default (a SQLite copy), or the PostgreSQL test schema for a deep run."""
    if os.environ.get("DISPATCH_TEST_FUZZ_DATABASE") == "postgresql":
        settings = pg_settings(request.getfixturevalue("pg_schema"), directory)
        asyncio.run(_empty_all_tables(settings))
        return settings
    shutil.copy(request.getfixturevalue("sqlite_template"), directory / "dispatch.sqlite3")
    return sqlite_settings(directory)


@pytest.fixture(scope="module")
def fuzz(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzz]:
    """A running app on a seeded database and the fake clock, reached through schemathesis' ASGI client."""
    directory = tmp_path_factory.mktemp("fuzz")
    settings = _database(request, directory).model_copy(update={"twilio_auth_token": TWILIO_TOKEN})
    clock = FakeClock(START)
    operators = Operators(settings, clock)
    operators.create()
    for username in FUZZERS:
        operators.login(username)
    app = create_app(settings, clock=clock)
    try:
        with asgi.get_client(cast("asgi.ASGIApp", app)) as http:
            _seed_city(http, operators.headers("fuzz-admin"), clock)
            schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=_config())
            yield Fuzz(schema=schema, operators=operators, http=http, settings=settings, clock=clock)
    finally:
        asgi.shutdown_lifespans()


@pytest.fixture(autouse=True)
def no_error_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A fuzzed request must not break anything behind the answer either (processors, timers, the bus)."""
    yield
    errors = [record.getMessage() for record in caplog.get_records("call") if record.levelno >= logging.ERROR]
    assert errors == []


def _call_as(operators: Operators, case: schemathesis.Case[Any], username: str) -> None:
    """Send the case as this operator and run the checks; the fuzzers never edit or log out each other."""
    target = (case.path_parameters or {}).get("operator_id")
    if case.path == "/api/v1/operators/{operator_id}" and target in {operators.ids[name] for name in FUZZERS}:
        case.path_parameters["operator_id"] = operators.ids["bystander-agent"]
    try:
        case.call_and_validate(headers=operators.headers(username))
    finally:
        if case.path == "/api/v1/auth/logout":
            operators.login(username)


def _fuzz_operation(
    operation: APIOperation[Any, Any, Any, Any], operators: Operators, username: str, examples: int
) -> None:
    strategy = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @seed(SEED)
    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=[Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case[Any]) -> None:
        _call_as(operators, case, username)

    run()


def _fuzz_all(fuzz: Fuzz, username: str, examples: int) -> None:
    failures: list[str] = []
    for methods in fuzz.schema.values():
        for operation in methods.values():
            try:
                _fuzz_operation(operation, fuzz.operators, username, examples)
            except (Exception, BaseExceptionGroup) as exc:  # every operation's failures are reported together
                failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def test_admin_gets_no_server_error_and_only_documented_answers(fuzz: Fuzz) -> None:
    _fuzz_all(fuzz, "fuzz-admin", ADMIN_EXAMPLES)


def test_agent_gets_no_server_error_and_only_documented_answers(fuzz: Fuzz) -> None:
    _fuzz_all(fuzz, "fuzz-agent", AGENT_EXAMPLES)


# Signed endpoints, outside the schema's reach: the Twilio webhooks and the device gateway. Unsigned garbage
# is refused with a 4xx; garbage signed with the right key is taken or refused with a 4xx; never a 5xx.
SIGNED_PATHS = ["/webhooks/twilio/sms", "/webhooks/twilio/status", "/api/v1/device-events"]
CONTENT_TYPES = [
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=fuzz",
    "multipart/form-data",
    "application/json",
    "text/plain",
]
TWILIO_FIELDS = ["MessageSid", "From", "To", "Body", "MessageStatus", "ErrorCode", "SmsStatus", "AccountSid"]
TWILIO_VALUES = st.sampled_from(
    ["SM" + "0" * 32, "+8613900000000", "queued", "sent", "delivered", "undelivered", "failed", "read"]
) | st.sampled_from(["接 1234", "完成 123456", "拒 0001", "到达", "30001", ""])


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )


@given(
    path=st.sampled_from(SIGNED_PATHS),
    content_type=st.sampled_from(CONTENT_TYPES),
    body=st.binary(max_size=300),
    headers=st.dictionaries(
        st.sampled_from(["X-Twilio-Signature", "X-Device-Id", "X-Timestamp", "X-Signature"]),
        st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=40),  # what a client can send
    ),
)
def _unsigned_garbage(fuzz: Fuzz, path: str, content_type: str, body: bytes, headers: dict[str, str]) -> None:
    response = fuzz.http.post(path, data=body, headers={"Content-Type": content_type, **headers})
    assert response.status_code in {400, 401, 403, 413, 422}, (path, response.status_code, response.text)


@given(
    path=st.sampled_from(SIGNED_PATHS[:2]),
    form=st.dictionaries(
        st.sampled_from(TWILIO_FIELDS) | st.text(max_size=10), TWILIO_VALUES | st.text(max_size=80)
    ),
    sms_id=st.none() | st.integers(min_value=-1, max_value=2**64).map(str) | st.text(max_size=5),
)
def _signed_twilio_garbage(fuzz: Fuzz, path: str, form: dict[str, str], sms_id: str | None) -> None:
    url = path if sms_id is None else f"{path}?{urlencode({'sms_id': sms_id})}"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(fuzz.settings.public_base_url + url, form)
    response = fuzz.http.post(url, data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code in {200, 204, 400, 404, 409, 422}, (
        url,
        form,
        response.status_code,
        response.text,
    )


def _phone_event_bodies() -> st.SearchStrategy[Any]:
    """Bodies from the phone event's JSON schema, valid and invalid (the route reads them raw, undocumented)."""
    schema = TypeAdapter(PhoneEventIn).json_schema(ref_template="#/components/schemas/{model}")
    document = {
        "openapi": "3.1.0",
        "info": {"title": "device gateway", "version": "1"},
        "paths": {
            "/api/v1/device-events": {
                "post": {
                    "requestBody": {"required": True, "content": {"application/json": {"schema": schema}}},
                    "responses": {"202": {"description": "stored"}},
                }
            }
        },
        "components": {"schemas": schema.pop("$defs", {})},
    }
    operation = schemathesis.openapi.from_dict(document)["/api/v1/device-events"]["POST"]
    cases = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(GenerationMode.NEGATIVE)
    return cases.map(lambda case: case.body)


@given(body=st.deferred(_phone_event_bodies))
def _signed_device_garbage(fuzz: Fuzz, body: Any) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()  # negative cases may be raw bytes
    timestamp = str(int(fuzz.clock.now().timestamp()))
    headers = {
        "Content-Type": "application/json",
        "X-Device-Id": PHONE["imei"],
        "X-Timestamp": timestamp,
        "X-Signature": signature(PHONE["secret"], timestamp, raw),
    }
    response = fuzz.http.post("/api/v1/device-events", data=raw, headers=headers)
    assert response.status_code in {202, 422}, (body, response.status_code, response.text)


@pytest.mark.parametrize("garbage", [_unsigned_garbage, _signed_twilio_garbage, _signed_device_garbage])
def test_signed_endpoints_answer_garbage_with_a_4xx(fuzz: Fuzz, garbage: Any) -> None:
    seed(SEED)(_settings(GARBAGE_EXAMPLES)(garbage))(fuzz)
