"""`/ws/console`: refuses strangers and other sites' pages, takes the cookie or a one-time ticket (never a
bearer token in the URL), resyncs on connect, pushes every call change, and closes when its session ends."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from redis.asyncio import Redis
from sqlalchemy import update
from starlette.testclient import TestClient, WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from dispatch.api.app import create_app
from dispatch.auth.models import OperatorSession, Role
from dispatch.clock import FakeClock
from dispatch.db.session import unit_of_work
from dispatch.settings import Settings
from tests.conftest import REDIS_URL, START
from tests.factories import PASSWORD, elder_payload, make_operator


def test_console_socket(db_settings: Settings) -> None:
    app = create_app(db_settings, clock=FakeClock(START))
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(make_operator, app.state.services, "agent1", Role.agent)
        login = client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {login['access_token']}"}
        client.cookies.clear()
        with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/console") as ws:
            ws.receive_json()
        assert refused.value.code == 4401
        elder = client.post(
            "/api/v1/elders", json=elder_payload(name="陈建国", sex="male"), headers=headers
        ).json()
        first = client.post(
            "/api/v1/calls",
            headers=headers,
            json={"elder_id": elder["id"], "priority": "P2", "category": "enquiry"},
        ).json()
        ticket = client.post("/api/v1/auth/ws-ticket", headers=headers).json()["ticket"]
        with client.websocket_connect(f"/ws/console?ticket={ticket}") as ws:
            resync = ws.receive_json()
            assert resync["type"] == "resync"
            assert [(c["id"], c["elder_name"], c["priority"]) for c in resync["calls"]] == [
                (first["id"], "陈建国", "P2")
            ]
            client.post(f"/api/v1/calls/{first['id']}/acknowledge", headers=headers)
            pushed = ws.receive_json()
            assert (pushed["type"], pushed["change"]) == ("call", "acknowledged")
            assert (pushed["call"]["id"], pushed["call"]["state"], pushed["call"]["claimed_by_name"]) == (
                first["id"],
                "acknowledged",
                "agent1",
            )


def test_resync_lists_open_and_resolved_calls_with_the_server_time(db_settings: Settings) -> None:
    app = create_app(db_settings, clock=FakeClock(START))
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(make_operator, app.state.services, "agent1", Role.agent)
        token = client.post("/api/v1/auth/login", json={"username": "agent1", "password": PASSWORD}).json()[
            "access_token"
        ]
        headers = {"Authorization": f"Bearer {token}"}
        ids = []
        for final_state in ("new", "resolved", "false_alarm"):
            elder = client.post("/api/v1/elders", json=elder_payload(), headers=headers).json()
            call = client.post(
                "/api/v1/calls", headers=headers, json={"elder_id": elder["id"], "category": "enquiry"}
            ).json()
            ids.append(call["id"])
            if final_state != "new":
                client.post(f"/api/v1/calls/{call['id']}/acknowledge", headers=headers)
                client.post(
                    f"/api/v1/calls/{call['id']}/transition", json={"state": final_state}, headers=headers
                )
        ticket = client.post("/api/v1/auth/ws-ticket", headers=headers).json()["ticket"]
        with client.websocket_connect(f"/ws/console?token={ticket}") as ws:  # ?token= takes a ticket too
            resync = ws.receive_json()
        assert resync["server_time"] == START.isoformat()
        assert sorted((c["id"], c["state"]) for c in resync["calls"]) == [
            (ids[0], "new"),
            (ids[1], "resolved"),
        ]


@contextmanager
def console_app(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """A running app with agent1 and admin accounts."""
    app = create_app(settings, clock=clock)
    with TestClient(app) as client:
        assert client.portal is not None
        client.portal.call(make_operator, app.state.services, "agent1", Role.agent)
        client.portal.call(make_operator, app.state.services, "admin", Role.admin)
        yield client


def bearer(client: TestClient, username: str) -> dict[str, str]:
    """Authorization headers of a fresh session (the client keeps that session's cookie too)."""
    login = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def ticket(client: TestClient, headers: dict[str, str]) -> str:
    response = client.post("/api/v1/auth/ws-ticket", headers=headers)
    assert response.status_code == 201, response.text
    value: str = response.json()["ticket"]
    return value


def refusal(client: TestClient, url: str, **kwargs: Any) -> int:
    """The close code of a handshake the server refuses (fails if it is accepted)."""
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect(url, **kwargs) as ws:
        ws.receive_json()
    return refused.value.code


class Closing:
    """Reads a socket in a thread, skipping messages, until the server closes it."""

    def __init__(self, ws: WebSocketTestSession) -> None:
        self._code: list[int] = []
        self._closed = threading.Event()
        threading.Thread(target=self._read, args=(ws,), daemon=True).start()

    def _read(self, ws: WebSocketTestSession) -> None:
        try:
            while True:
                ws.receive_text()
        except WebSocketDisconnect as closed:
            self._code.append(closed.code)
        except Exception:  # noqa: S110 - the test closed the socket itself
            pass
        self._closed.set()

    def code(self, within: float = 5.0) -> int | None:
        """The close code, once the server closes the socket within `within` seconds (None: still open)."""
        self._closed.wait(within)
        return self._code[0] if self._code else None


def test_a_bearer_token_in_the_url_is_refused_a_ticket_opens_once(db_settings: Settings) -> None:
    clock = FakeClock(START)
    with console_app(db_settings, clock) as client:
        headers = bearer(client, "agent1")
        client.cookies.clear()
        assert refusal(client, f"/ws/console?token={headers['Authorization'][7:]}") == 4401
        once = ticket(client, headers)
        with client.websocket_connect(f"/ws/console?ticket={once}") as ws:
            assert ws.receive_json()["type"] == "resync"
        assert refusal(client, f"/ws/console?ticket={once}") == 4401  # spent
        late = ticket(client, headers)
        clock.advance(db_settings.console_ticket_seconds + 1)
        assert refusal(client, f"/ws/console?ticket={late}") == 4401  # expired
        assert client.post("/api/v1/auth/ws-ticket").status_code == 401  # only for a logged-in operator


def test_pages_of_other_sites_are_refused(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"public_base_url": "https://12349.example.cn"})
    with console_app(settings, FakeClock(START)) as client:
        bearer(client, "agent1")  # the cookie a browser would send along
        for origin in ("https://evil.example", "http://testserver.evil.example", "null"):
            assert refusal(client, "/ws/console", headers={"origin": origin}) == 1008
        for origin in ("http://testserver", "http://testserver:80", "https://12349.example.cn"):
            with client.websocket_connect("/ws/console", headers={"origin": origin}) as ws:
                assert ws.receive_json()["type"] == "resync"


def test_logging_out_closes_the_live_feed_at_once(db_settings: Settings) -> None:
    with console_app(db_settings, FakeClock(START)) as client:
        headers = bearer(client, "agent1")
        other = bearer(client, "agent1")  # a second session of the same agent stays open
        with (
            client.websocket_connect(f"/ws/console?ticket={ticket(client, headers)}") as ws,
            client.websocket_connect(f"/ws/console?ticket={ticket(client, other)}") as still_open,
        ):
            ws.receive_json()
            still_open.receive_json()
            closing, other_closing = Closing(ws), Closing(still_open)
            assert client.post("/api/v1/auth/logout", headers=headers).status_code == 204
            assert closing.code() == 4401
            assert other_closing.code(0.3) is None


def test_deactivating_an_operator_closes_their_live_feed(db_settings: Settings) -> None:
    with console_app(db_settings, FakeClock(START)) as client:
        agent = bearer(client, "agent1")
        admin = bearer(client, "admin")
        with client.websocket_connect(f"/ws/console?ticket={ticket(client, agent)}") as ws:
            ws.receive_json()
            me = client.get("/api/v1/auth/me", headers=agent).json()
            closing = Closing(ws)
            deactivated = client.patch(f"/api/v1/operators/{me['id']}", json={"active": False}, headers=admin)
            assert deactivated.status_code == 200
            assert closing.code() == 4401


def test_a_revocation_the_bus_never_carried_is_caught_by_the_periodic_check(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"console_session_check_seconds": 0.05})
    with console_app(settings, FakeClock(START)) as client:
        headers = bearer(client, "agent1")
        with client.websocket_connect(f"/ws/console?ticket={ticket(client, headers)}") as ws:
            ws.receive_json()
            closing = Closing(ws)
            assert closing.code(0.3) is None

            async def revoke_quietly() -> None:
                async with unit_of_work(client.app.state.services.sessions) as session:  # type: ignore[attr-defined]
                    await session.execute(update(OperatorSession).values(revoked_at=START))

            assert client.portal is not None
            client.portal.call(revoke_quietly)
            assert closing.code() == 4401


def test_a_logout_in_one_process_closes_the_feed_in_another(db_settings: Settings) -> None:
    settings = db_settings.model_copy(update={"redis_url": REDIS_URL})
    clock = FakeClock(START)

    async def flush() -> None:
        redis = Redis.from_url(REDIS_URL)
        await redis.flushdb()
        await redis.aclose()

    with console_app(settings, clock) as first, TestClient(create_app(settings, clock=clock)) as second:
        assert first.portal is not None
        first.portal.call(flush)
        headers = bearer(first, "agent1")
        with second.websocket_connect(f"/ws/console?ticket={ticket(first, headers)}") as ws:
            assert ws.receive_json()["type"] == "resync"
            closing = Closing(ws)
            assert first.post("/api/v1/auth/logout", headers=headers).status_code == 204
            assert closing.code() == 4401
