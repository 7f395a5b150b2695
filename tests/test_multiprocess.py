"""Two `dispatch serve` processes on PostgreSQL + Redis behave as one system."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import subprocess
import time
import uuid
from pathlib import Path

import httpx
import pytest
import websockets

from tests.conftest import PG_URL, REDIS_URL
from tests.factories import elder_payload
from tests.test_cli import env_for, run, server

pytestmark = pytest.mark.slow


def sign(secret: str, body: bytes) -> dict[str, str]:
    timestamp = str(int(time.time()))
    return {
        "X-Timestamp": timestamp,
        "Content-Type": "application/json",
        "X-Signature": hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).hexdigest(),
    }


async def next_call_message(
    socket: websockets.ClientConnection, change: str, within: float = 15
) -> dict[str, object]:
    """The next call message with this change (a P1 call also brings its contact alerts)."""
    async with asyncio.timeout(within):
        while True:
            message = json.loads(await socket.recv())
            if message["type"] == "call" and message["change"] == change:
                return dict(message)


def test_an_alarm_received_by_one_process_reaches_a_console_on_the_other(tmp_path: Path) -> None:
    schema = f"t_mp_{uuid.uuid4().hex[:8]}"
    env = env_for(
        tmp_path, DISPATCH_DATABASE_URL=PG_URL, DISPATCH_DATABASE_SCHEMA=schema, DISPATCH_REDIS_URL=REDIS_URL
    )
    assert run(["create-operator", "agent1", "--password-stdin"], env, "a long password\n").returncode == 0
    try:
        with server(["serve"], env) as one, server(["serve"], env) as other:
            login = httpx.post(
                f"{other}/api/v1/auth/login", json={"username": "agent1", "password": "a long password"}
            )
            token = login.json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            elder = httpx.post(
                f"{one}/api/v1/elders", json=elder_payload(name="郑美珠"), headers=headers
            ).json()
            device = httpx.post(
                f"{one}/api/v1/devices",
                headers=headers,
                json={"imei": "phone-mp-0001", "elder_id": elder["id"], "kind": "phone"},
            ).json()

            ticket = httpx.post(f"{one}/api/v1/auth/ws-ticket", headers=headers).json()["ticket"]

            async def scenario() -> tuple[dict[str, object], dict[str, object]]:
                url = other.replace("http", "ws") + f"/ws/console?ticket={ticket}"  # spent in another process
                async with websockets.connect(url) as socket:
                    resync = json.loads(await socket.recv())
                    assert (resync["type"], resync["calls"]) == ("resync", [])
                    body = json.dumps(
                        {"event_type": "sos", "time": "2026-03-02T09:00:00+08:00", "idempotency_key": "mp-1"}
                    ).encode()
                    async with httpx.AsyncClient() as client:
                        sent = await client.post(
                            f"{one}/api/v1/device-events",
                            content=body,
                            headers={"X-Device-Id": "phone-mp-0001", **sign(device["secret"], body)},
                        )
                        assert sent.status_code == 202
                        opened = await next_call_message(socket, "opened")
                        call_id = opened["call"]["id"]  # type: ignore[index]
                        await client.post(f"{one}/api/v1/calls/{call_id}/acknowledge", headers=headers)
                        acknowledged = await next_call_message(socket, "acknowledged")
                return opened, acknowledged

            opened, acknowledged = asyncio.run(scenario())
            assert opened["change"] == "opened"
            assert (opened["call"]["priority"], opened["call"]["elder_name"]) == ("P1", "郑美珠")  # type: ignore[index]
            assert acknowledged["change"] == "acknowledged"
            assert acknowledged["call"]["claimed_by_name"] == "agent1"  # type: ignore[index]
    finally:
        run(["db", "downgrade", "base"], env)
        subprocess.run(
            ["psql", "-h", "127.0.0.1", "-d", "test", "-c", f"DROP SCHEMA {schema} CASCADE"],
            capture_output=True,
            check=False,
        )
