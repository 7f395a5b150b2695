"""The watch gateway over real TCP: decoding into stored events, byte-exact replies, store-before-ack,
split and coalesced frames, retries, refusals and robustness."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from devices.watch import codec
from dispatch.api.state import AppServices
from dispatch.auth.models import Role
from dispatch.clock import FakeClock
from dispatch.elders.models import Device
from dispatch.ingest.models import DeviceEvent
from simulators.watch import position_block
from tests.conftest import START
from tests.factories import make_elder_with_device, operator_headers

IMEI = "8800000015"
WHEN = datetime(2026, 3, 2, 0, 59, 30, tzinfo=UTC)
SOS_BLOCK = position_block(WHEN, 26.083, 119.2985, status=(1 << 16) | (1 << 17), battery=15, steps=321)


def frame(
    content: str | bytes, imei: str = IMEI, manufacturer: str = "3G", index: str | None = None
) -> bytes:
    raw = content.encode() if isinstance(content, str) else content
    return codec.encode_frame(manufacturer, imei, index, raw)


class Watch:
    """A raw TCP client speaking bytes."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def reply(self, within: float = 5.0) -> bytes:
        async with asyncio.timeout(within):
            data = b""
            while not data.endswith(b"]"):
                chunk = await self.reader.read(1)
                if not chunk:
                    raise ConnectionError(f"closed after {data!r}")
                data += chunk
            return data

    async def closed(self, within: float = 5.0) -> bool:
        async with asyncio.timeout(within):
            return await self.reader.read(1024) == b""


@pytest.fixture
async def watch(app_services: AppServices) -> AsyncIterator[Watch]:
    await make_elder_with_device(app_services, IMEI, heartbeat_interval_s=300)
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    yield Watch(reader, writer)
    writer.close()


async def stored(services: AppServices) -> list[DeviceEvent]:
    async with services.sessions() as session:
        return list(await session.scalars(select(DeviceEvent).order_by(DeviceEvent.id)))


async def test_sos_is_in_the_database_when_the_ack_arrives(
    watch: Watch, app_services: AppServices, clock: FakeClock
) -> None:
    await watch.send(frame("AL," + SOS_BLOCK))
    assert await watch.reply() == b"[3G*8800000015*0002*AL]"
    events = await stored(app_services)  # read at the moment the reply arrived
    assert [e.type for e in events] == ["sos", "low_battery"]
    sos = events[0]
    assert (sos.lon, sos.lat, sos.fixed) == (119.2985, 26.083, True)
    assert sos.device_time == WHEN
    assert sos.received_at == clock.now()
    assert sos.data["battery"] == 15
    assert sos.data["steps"] == 321
    assert sos.data["alarm_kind"] == "AL"
    await app_services.writer.devices.flush()  # the last-seen state follows within a second
    async with app_services.sessions() as session:
        device = await session.scalar(select(Device).where(Device.imei == IMEI))
    assert device is not None
    assert (device.battery, device.last_lon, device.last_seen_at) == (15, 119.2985, clock.now())


@pytest.mark.parametrize(
    ("content", "reply", "expected"),
    [
        (
            "LK,1200,3,87",
            b"[3G*8800000015*0002*LK]",
            ("heartbeat", {"steps": 1200, "rolls": 3, "battery": 87}),
        ),
        ("heart,85", b"[3G*8800000015*0005*heart]", ("vitals", {"heart_rate": 85})),
        (
            "bphrt,150,95,88,0,0",
            b"[3G*8800000015*0005*bphrt]",
            ("vitals", {"systolic": 150, "diastolic": 95, "heart_rate": 88}),
        ),
        ("oxygen,91", b"[3G*8800000015*0006*oxygen]", ("vitals", {"spo2": 91})),
        ("btemp2,1,38.4", b"[3G*8800000015*0006*btemp2]", ("vitals", {"temperature": 38.4})),
    ],
)
async def test_heartbeats_and_vitals(
    watch: Watch,
    app_services: AppServices,
    content: str,
    reply: bytes,
    expected: tuple[str, dict[str, object]],
) -> None:
    await watch.send(frame(content))
    assert await watch.reply() == reply
    [event] = await stored(app_services)
    assert event.type == expected[0]
    assert {k: event.data[k] for k in expected[1]} == expected[1]


async def test_position_without_fix_is_kept_with_cells_and_wifi(
    watch: Watch, app_services: AppServices
) -> None:
    await watch.send(frame("UD," + position_block(WHEN, 0.0, 0.0, fixed=False, cells=3, wifis=2)))
    await watch.send(frame("LK"))  # UD has no reply; the LK reply tells us the UD was handled before it
    assert await watch.reply() == b"[3G*8800000015*0002*LK]"
    position, _ = await stored(app_services)
    assert position.type == "position"
    assert (position.lon, position.lat, position.fixed) == (None, None, False)
    assert len(position.data["cells"]) == 3
    assert len(position.data["wifis"]) == 2


async def test_alarm_without_fix_is_still_an_alarm(watch: Watch, app_services: AppServices) -> None:
    await watch.send(frame("AL," + position_block(WHEN, 0, 0, fixed=False, status=1 << 21)))
    assert await watch.reply() == b"[3G*8800000015*0002*AL]"
    [fall] = await stored(app_services)
    assert (fall.type, fall.fixed, fall.lon) == ("fall", False, None)


async def test_split_and_coalesced_frames(watch: Watch, app_services: AppServices) -> None:
    sos = frame("AL," + SOS_BLOCK)
    for byte in sos:
        await watch.send(bytes([byte]))
    assert await watch.reply() == b"[3G*8800000015*0002*AL]"
    await watch.send(frame("LK,1,0,50") + frame("heart,70") + b"\r\n" + frame("TKQ"))
    assert [await watch.reply() for _ in range(3)] == [
        b"[3G*8800000015*0002*LK]",
        b"[3G*8800000015*0005*heart]",
        b"[3G*8800000015*0003*TKQ]",
    ]
    assert [e.type for e in await stored(app_services)] == ["sos", "low_battery", "heartbeat", "vitals"]


async def test_a_retried_alarm_is_stored_once_and_acked_each_time(
    watch: Watch, app_services: AppServices
) -> None:
    for _ in range(3):
        await watch.send(frame("AL," + SOS_BLOCK))
        assert await watch.reply() == b"[3G*8800000015*0002*AL]"
    assert [e.type for e in await stored(app_services)] == ["sos", "low_battery"]


async def test_zj_frames_are_answered_with_their_index(app_services: AppServices) -> None:
    imei = "014111001350304"
    await make_elder_with_device(app_services, imei)
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    zj = Watch(reader, writer)
    await zj.send(frame("LK,0,0,100", imei=imei, manufacturer="ZJ", index="0038"))
    assert await zj.reply() == b"[ZJ*014111001350304*0038*0002*LK]"
    await zj.send(frame("INIT", imei=imei, manufacturer="ZJ", index="0039"))
    assert await zj.reply() == b"[ZJ*014111001350304*0039*0006*INIT,1]"
    writer.close()


async def test_unregistered_imei_is_refused_and_disconnected(app_services: AppServices) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    stranger = Watch(reader, writer)
    for _ in range(3):
        await stranger.send(frame("AL," + SOS_BLOCK, imei="9999999999"))
    assert await stranger.closed()  # no AL reply, and the connection is closed after a few tries
    assert await stored(app_services) == []


async def test_garbage_is_survived_and_other_watches_unaffected(
    watch: Watch, app_services: AppServices
) -> None:
    await watch.send(b"\x00\xff garbage ]]] [3G*12*0001*X] [ZZ*8800000015*zzzz*LK]")
    await watch.send(frame("heart,abc"))  # malformed vitals: acknowledged so the watch stops resending
    assert await watch.reply() == b"[3G*8800000015*0005*heart]"
    await watch.send(frame("LK,5,0,60"))
    assert await watch.reply() == b"[3G*8800000015*0002*LK]"
    assert [e.type for e in await stored(app_services)] == ["heartbeat"]


async def test_oversized_frame_closes_only_that_connection(watch: Watch, app_services: AppServices) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", app_services.watch_port)
    flooder = Watch(reader, writer)
    await flooder.send(b"[3G*8800000015*FFFF*TK," + b"x" * (codec.MAX_FRAME_BYTES + 10))
    assert await flooder.closed()
    await watch.send(frame("LK"))
    assert await watch.reply() == b"[3G*8800000015*0002*LK]"


async def test_voice_clip_is_stored_as_media(watch: Watch, app_services: AppServices) -> None:
    audio = b"#!AMR\n" + bytes(range(256))  # contains [ ] } , * bytes, escaped on the wire
    await watch.send(frame(b"TK," + audio))
    assert await watch.reply() == b"[3G*8800000015*0004*TK,1]"
    [media] = await stored(app_services)
    assert media.type == "media"
    assert media.data["size"] == len(audio)
    assert (app_services.settings.data_dir / "media" / media.data["file"]).read_bytes() == audio


async def test_downlink_command_reaches_the_connected_watch(
    watch: Watch, app_services: AppServices, client: httpx.AsyncClient
) -> None:
    await watch.send(frame("LK"))
    await watch.reply()
    agent = await operator_headers(app_services, client, Role.agent)
    device = (await client.get("/api/v1/devices", params={"q": IMEI}, headers=agent)).json()["items"][0]
    sent = await client.post(
        f"/api/v1/devices/{device['id']}/commands", json={"command": "locate"}, headers=agent
    )
    assert sent.json() == {"command": "locate", "sent": True, "detail": "sent to the watch"}
    assert await watch.reply() == b"[3G*8800000015*0002*CR]"
    interval = await client.post(
        f"/api/v1/devices/{device['id']}/commands",
        json={"command": "upload_interval", "args": ["600"]},
        headers=agent,
    )
    assert interval.json()["sent"] is True
    assert await watch.reply() == b"[3G*8800000015*000A*UPLOAD,600]"
    bad = await client.post(
        f"/api/v1/devices/{device['id']}/commands", json={"command": "explode"}, headers=agent
    )
    assert bad.status_code == 422


@pytest.mark.parametrize(
    ("command", "args"), [("power_off", []), ("reset", []), ("sos_numbers", ["+8613800000001"])]
)
async def test_only_supervisors_power_off_reset_or_reprogram_a_watch(
    watch: Watch, app_services: AppServices, client: httpx.AsyncClient, command: str, args: list[str]
) -> None:
    await watch.send(frame("LK"))
    await watch.reply()
    agent = await operator_headers(app_services, client, Role.agent)
    supervisor = await operator_headers(app_services, client, Role.supervisor, "supervisor")
    admin = await operator_headers(app_services, client, Role.admin, "admin")
    device = (await client.get("/api/v1/devices", params={"q": IMEI}, headers=agent)).json()["items"][0]
    url = f"/api/v1/devices/{device['id']}/commands"
    refused = await client.post(url, json={"command": command, "args": args}, headers=agent)
    assert refused.status_code == 403
    sent = await client.post(url, json={"command": command, "args": args}, headers=supervisor)
    assert sent.json()["sent"] is True
    assert codec.encode_command(command, *args) in await watch.reply()
    log = (await client.get("/api/v1/audit", params={"action": "device.command"}, headers=admin)).json()
    assert [(e["username"], e["detail"]) for e in log["items"]] == [
        ("supervisor", {"command": command, "sent": True})
    ]


async def test_command_to_a_watch_that_is_not_connected(
    app_services: AppServices, client: httpx.AsyncClient
) -> None:
    _, device_id, _ = await make_elder_with_device(app_services, "8800000099")
    agent = await operator_headers(app_services, client, Role.agent)
    sent = await client.post(
        f"/api/v1/devices/{device_id}/commands", json={"command": "locate"}, headers=agent
    )
    assert sent.json()["sent"] is False


async def test_frames_without_device_time_repeat_once_a_minute_at_most(
    watch: Watch, app_services: AppServices, clock: FakeClock
) -> None:
    for _ in range(2):  # a resend within the minute is the same message
        await watch.send(frame("heart,72"))
        assert await watch.reply() == b"[3G*8800000015*0005*heart]"
    clock.advance(60)  # the same reading a minute later is a new measurement
    await watch.send(frame("heart,72"))
    assert await watch.reply() == b"[3G*8800000015*0005*heart]"
    assert [e.type for e in await stored(app_services)] == ["vitals", "vitals"]


async def test_the_same_alarm_frame_after_the_dedupe_window_is_a_new_alarm(
    watch: Watch, app_services: AppServices, clock: FakeClock
) -> None:
    # A watch without network time repeats the device time of its last fix: a resend within the window
    # (here across the edge of the window's five-minute bucket) is the same message, the same bytes a day
    # later are a new SOS.
    clock.advance(290)
    for wait in (0, 20, 24 * 3600):
        clock.advance(wait)
        await watch.send(frame("AL," + SOS_BLOCK))
        assert await watch.reply() == b"[3G*8800000015*0002*AL]"
    events = await stored(app_services)
    assert [e.type for e in events] == ["sos", "low_battery", "sos", "low_battery"]
    assert [e.received_at for e in events if e.type == "sos"] == [
        START + timedelta(seconds=290),
        START + timedelta(seconds=290 + 20 + 24 * 3600),
    ]
    assert {e.device_time for e in events} == {WHEN}


SOUTH_WEST = position_block(WHEN, -33.8688, -70.6693, battery=44)  # Santiago: S and W hemispheres


@pytest.mark.parametrize(
    ("content", "reply", "types", "check"),
    [
        ("UD_LTE," + SOUTH_WEST, None, ["position"], {"lon": -70.6693, "lat": -33.8688, "fixed": True}),
        ("UD2," + SOUTH_WEST, None, ["position"], {"lon": -70.6693}),
        ("WT," + SOUTH_WEST, None, ["position"], {"lat": -33.8688}),
        ("AL_LTE," + SOS_BLOCK, b"[3G*8800000015*0002*AL]", ["sos", "low_battery"], {"lon": 119.2985}),
        (
            "ALCUSTOMER1," + position_block(WHEN, 26.083, 119.2985),
            b"[3G*8800000015*0002*AL]",
            ["alarm"],
            {"fixed": True},
        ),
        ("PULSE,64", b"[3G*8800000015*0005*PULSE]", ["vitals"], {"heart_rate": 64}),
        ("BLOOD,165,101", b"[3G*8800000015*0005*BLOOD]", ["vitals"], {"systolic": 165, "diastolic": 101}),
        ("TEMP,37.6", b"[3G*8800000015*0004*TEMP]", ["vitals"], {"temperature": 37.6}),
    ],
)
async def test_more_message_types_over_tcp(
    watch: Watch,
    app_services: AppServices,
    content: str,
    reply: bytes | None,
    types: list[str],
    check: dict[str, object],
) -> None:
    await watch.send(frame(content))
    if reply is not None:
        assert await watch.reply() == reply
    await watch.send(frame("TKQ"))  # its echo proves everything before it was handled
    assert await watch.reply() == b"[3G*8800000015*0003*TKQ]"
    events = await stored(app_services)
    assert [e.type for e in events] == types
    first = events[0]
    values = {"lon": first.lon, "lat": first.lat, "fixed": first.fixed, **first.data}
    assert {key: values[key] for key in check} == check
    if first.device_time is not None:
        assert first.device_time == WHEN
