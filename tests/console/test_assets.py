"""The console's files are served by the server itself, from our static folder and the npm packages the
build hook installed: nothing is fetched from elsewhere."""

from __future__ import annotations

import re

import httpx

from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from tests.factories import operator_headers


async def test_the_console_page_and_every_asset_it_names_are_served_locally(
    client: httpx.AsyncClient,
) -> None:
    assert (await client.get("/")).headers["location"] == "/console/"
    page = await client.get("/console/")
    assert page.status_code == 200
    assert 'lang="zh-CN"' in page.text
    linked = re.findall(r'(?:href|src)="([^"]+)"', page.text)
    assert len(linked) >= 5
    assert not [url for url in linked if "//" in url], "the console must not load from other hosts"
    for url in linked:
        response = await client.get(f"/console/{url}")
        assert response.status_code == 200, url
    for module in ("js/app.js", "js/map.js", "js/payments.js"):
        source = (await client.get(f"/console/{module}")).text
        for imported in re.findall(r"from '([^']+)'", source):
            assert imported.startswith("."), imported
            assert (await client.get(f"/console/js/{imported}")).status_code == 200, imported
    font = await client.get(
        "/console/vendor/noto-sans-sc/files/noto-sans-sc-chinese-simplified-400-normal.woff2"
    )
    assert font.status_code == 200
    assert font.content[:4] == b"wOF2"


async def test_the_console_config_needs_a_login(client: httpx.AsyncClient, app_services: AppServices) -> None:
    assert (await client.get("/api/v1/console/config")).status_code == 401
    agent = await operator_headers(app_services, client, Role.agent, "agent1")
    config = (await client.get("/api/v1/console/config", headers=agent)).json()
    assert config["tile_url"] == ""
    assert config["p1_ack_seconds"] == 30
    assert config["state_sla_seconds"]["new"] == 60
    assert "emergency_rescue" in config["service_types"]
    assert config["wrap_up_seconds"] == 30
    assert config["operator"] == {"username": "agent1", "role": "agent"}
