"""The `dispatch` command end to end: real server processes on real ports, SQLite and PostgreSQL + Redis."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from dispatch.db import migrate
from dispatch.settings import Settings
from tests.conftest import PG_URL, REDIS_URL

pytestmark = pytest.mark.slow
DISPATCH = [sys.executable, "-m", "dispatch"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_")}
    env.update(
        {
            "DISPATCH_DATA_DIR": str(tmp_path / "var"),
            "DISPATCH_LOG_LEVEL": "WARNING",
            "DISPATCH_WATCH_PORT": "0",
            **extra,
        }
    )
    return env


def run(args: list[str], env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DISPATCH, *args], env=env, input=stdin, capture_output=True, text=True, timeout=180, check=False
    )


@contextmanager
def server(args: list[str], env: dict[str, str], port: int | None = None) -> Iterator[str]:
    """Start `dispatch <args>` and yield its base URL once /healthz answers."""
    port = port or free_port()
    process = subprocess.Popen(
        [*DISPATCH, *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None:
                raise AssertionError(f"server exited: {process.stdout.read() if process.stdout else ''}")
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("server did not start within 120 s")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=30)


def token(base: str, username: str, password: str = "demo") -> dict[str, str]:
    response = httpx.post(f"{base}/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def check_demo_acceptance(base: str) -> None:
    """The foundation issue's 'done when', against a running demo server."""
    assert httpx.get(f"{base}/healthz").status_code == 200
    assert httpx.get(f"{base}/api/v1/elders?limit=50").status_code == 401
    agent = token(base, "agent1")
    page = httpx.get(f"{base}/api/v1/elders?limit=50", headers=agent).json()
    assert len(page["items"]) == 50
    assert all("********" in elder["id_number"] for elder in page["items"])
    provider = httpx.get(f"{base}/api/v1/providers?limit=1", headers=agent).json()["items"][0]
    refused = httpx.post(
        f"{base}/api/v1/providers/{provider['id']}/status",
        headers=agent,
        json={"status": "suspended", "reason": "agent tries"},
    )
    assert refused.status_code == 403
    elder_id = page["items"][0]["id"]
    health = httpx.get(f"{base}/api/v1/elders/{elder_id}/health", headers=agent)
    assert health.status_code == 200
    admin = token(base, "admin")
    audit = httpx.get(f"{base}/api/v1/audit", params={"action": "health_record.read"}, headers=admin).json()
    assert (audit["items"][0]["username"], audit["items"][0]["entity_id"]) == ("agent1", str(elder_id))
    metrics = httpx.get(f"{base}/metrics")
    assert 'dispatch_http_requests_total{method="GET",route="/api/v1/elders",status="200"}' in metrics.text


def test_demo_on_sqlite_seeds_once_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    with server(["demo", "--no-simulators", "--elders", "120"], env) as base:
        check_demo_acceptance(base)
        ready = httpx.get(f"{base}/readyz").json()
        assert ready == {"status": "ready", "checks": {"database": "ok", "bus": "in-process"}}
        agent = token(base, "agent1")
        elder_id = httpx.get(f"{base}/api/v1/elders?limit=1", headers=agent).json()["items"][0]["id"]
        httpx.patch(f"{base}/api/v1/elders/{elder_id}", json={"notes": "留言：请先打女儿电话"}, headers=agent)
    assert (tmp_path / "var" / "dispatch.sqlite3").exists()
    with server(["demo", "--no-simulators", "--elders", "500"], env) as base:
        agent = token(base, "agent1")
        assert httpx.get(f"{base}/api/v1/elders?limit=1", headers=agent).json()["total"] == 120
        assert (
            httpx.get(f"{base}/api/v1/elders/{elder_id}", headers=agent).json()["notes"]
            == "留言：请先打女儿电话"
        )


def test_demo_on_postgresql_and_redis(tmp_path: Path) -> None:
    schema = f"t_cli_{uuid.uuid4().hex[:8]}"
    env = env_for(
        tmp_path, DISPATCH_DATABASE_URL=PG_URL, DISPATCH_DATABASE_SCHEMA=schema, DISPATCH_REDIS_URL=REDIS_URL
    )
    try:
        with server(["demo", "--no-simulators", "--elders", "120"], env) as base:
            check_demo_acceptance(base)
            ready = httpx.get(f"{base}/readyz").json()
            assert ready == {"status": "ready", "checks": {"database": "ok", "redis": "ok"}}
        assert not (tmp_path / "var" / "dispatch.sqlite3").exists()
    finally:
        assert run(["db", "downgrade", "base"], env).returncode == 0
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-d", "test", "-c", f"DROP SCHEMA {schema} CASCADE"],
            capture_output=True,
            check=False,
        )


def test_serve_creates_no_accounts_and_create_operator_does(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    created = run(
        ["create-operator", "chief", "--role", "admin", "--password-stdin"], env, "a long password\n"
    )
    assert created.returncode == 0, created.stderr
    assert "created admin chief" in created.stdout
    again = run(["create-operator", "chief", "--password-stdin"], env, "a long password\n")
    assert again.returncode == 1
    assert "taken" in again.stderr
    short = run(["create-operator", "shorty", "--password-stdin"], env, "short\n")
    assert short.returncode == 2
    with server(["serve"], env) as base:
        refused = httpx.post(f"{base}/api/v1/auth/login", json={"username": "admin", "password": "demo"})
        assert refused.status_code == 401
        chief = token(base, "chief", "a long password")
        assert httpx.get(f"{base}/api/v1/elders", headers=chief).json() == {"items": [], "total": 0}


def test_db_commands(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    head = migrate.head_revision(Settings())
    upgraded = run(["db", "upgrade"], env)
    assert upgraded.returncode == 0, upgraded.stderr
    assert f"database at revision {head}" in upgraded.stdout
    assert run(["db", "current"], env).stdout.strip() == f"database: {head}  code: {head}"
    assert "database at revision 0001" in run(["db", "downgrade", "0001"], env).stdout
    assert "database at revision None" in run(["db", "downgrade", "base"], env).stdout
    assert run(["db", "current"], env).stdout.strip() == f"database: None  code: {head}"


def test_demo_with_simulators_brings_device_events(tmp_path: Path) -> None:
    env = env_for(tmp_path)
    with server(["demo", "--elders", "40"], env) as base:
        agent = token(base, "agent1")
        deadline = time.monotonic() + 90
        seen: set[tuple[str, str]] = set()  # (kind of device, event type)
        wanted = {("watch", "heartbeat"), ("watch", "position"), ("phone", "position"), ("phone", "vitals")}
        while time.monotonic() < deadline and not wanted <= seen:
            page = httpx.get(f"{base}/api/v1/device-events?limit=500", headers=agent).json()
            seen = {
                ("phone" if e["imei"].startswith("phone-") else "watch", e["type"]) for e in page["items"]
            }
            time.sleep(1)
        assert wanted <= seen  # watches over TCP, phones over the signed HTTP API

        # Texts go through the demo's fake Twilio: an offer is delivered, and the webhooks are on (signed only).
        assert httpx.post(f"{base}/webhooks/twilio/sms", data={"Body": "接 1234"}).status_code == 403
        call = httpx.post(
            f"{base}/api/v1/calls", json={"elder_id": 1, "priority": "P2", "category": "fall"}, headers=agent
        ).json()
        httpx.post(f"{base}/api/v1/calls/{call['id']}/acknowledge", headers=agent)
        dispatched = httpx.post(
            f"{base}/api/v1/calls/{call['id']}/dispatch",
            json={"service_type": "emergency_rescue"},
            headers=agent,
        )
        assert dispatched.status_code == 201
        deadline = time.monotonic() + 30
        statuses: list[str] = []
        while time.monotonic() < deadline and "delivered" not in statuses:
            page = httpx.get(f"{base}/api/v1/sms", params={"call_id": call["id"]}, headers=agent).json()
            statuses = [m["status"] for m in page["items"] if m["purpose"] == "offer"]
            time.sleep(0.5)
        assert "delivered" in statuses
