"""`/ws/console`: refuses strangers, resyncs on connect, then pushes every call change."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from dispatch.api.app import create_app
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.settings import Settings
from tests.conftest import START
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
        with client.websocket_connect(f"/ws/console?token={login['access_token']}") as ws:
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
        with client.websocket_connect(f"/ws/console?token={token}") as ws:
            resync = ws.receive_json()
        assert resync["server_time"] == START.isoformat()
        assert sorted((c["id"], c["state"]) for c in resync["calls"]) == [
            (ids[0], "new"),
            (ids[1], "resolved"),
        ]
