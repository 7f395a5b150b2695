"""The watch codec: frames, messages, events, replies and downlink commands, in h11's `tr` habits."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.watch import codec
from devices.watch.codec import (
    COMMANDS,
    MAX_FRAME_BYTES,
    AlarmMessage,
    BloodPressure,
    CellTower,
    Frame,
    FrameDecoder,
    Heartbeat,
    HeartRate,
    Init,
    LinkCheck,
    Malformed,
    Message,
    PositionMessage,
    PositionReport,
    Rejected,
    SpO2,
    Temperature,
    Unknown,
    VoiceClip,
    WifiAccessPoint,
    encode_command,
    encode_frame,
    events_for,
    parse_message,
    reply_for,
    status_alarms,
)
from dispatch.ingest.events import ALARM_TYPES, EventType, IncomingEvent, Position

# ---------------------------------------------------------------------------------------------------------
# Captured frames. Unless noted, they come from Traccar's WatchProtocolDecoderTest (real devices, published
# under the Apache licence); where that test's LEN field was wrong we recomputed it, because the decoder
# must not rely on it and the one deliberately wrong frame is UD_WRONG_LEN below.
# ---------------------------------------------------------------------------------------------------------

# The 3G protocol document's heartbeat with steps, rolls and battery (as given in our brief).
LK_STEPS = b"[3G*8800000015*000D*LK,50,100,100]"
LK_BARE = b"[SG*8800000015*0002*LK]"
# ZJ firmwares put a 4-hex-digit index before the length (brief; index from Traccar's ZJ frames).
LK_ZJ = b"[ZJ*014111001350304*0038*000A*LK,0,0,100]"
UD_FIX = (
    b"[3G*8800000015*008F*UD,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,0000,"
    b"4,1,460,0,9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]"
)
# Traccar's copy of the same report declares 0x87 bytes but carries 0x8F: LEN is informational.
UD_WRONG_LEN = (
    b"[SG*8800000015*0087*UD,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,0000,"
    b"4,1,460,0,9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]"
)
AL_SOS = (
    b"[SG*8800000015*0093*AL,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,00010000,"
    b"4,1,460,0,9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]"
)
# No fix, 7 cells and 1 Wi-Fi access point.
UD_NO_FIX = (
    b"[3G*4700186508*00D8*UD,301017,155452,V,0.000000,N,0.0000000,E,0.00,0.0,0.0,0,84,61,0,11,00000008,"
    b"7,255,460,1,9346,5223,148,9346,5214,139,9346,4083,134,9346,5221,129,9346,5222,129,9346,5213,128,"
    b"9346,4081,125,1,WIFI1,bc:5f:f6:c9:6f:d8,-71]"
)
UD_ZJ = (
    b"[ZJ*014111001350304*0033*0064*UD,070318,020827,V,00.000000,N,000.000000,E,0,0,0,0,100,19,1000,50,"
    b"00000000,1,255,460,0,9346,5223,42]"
)
# Signed coordinates with N/E letters: the sign of the number decides.
UD2_SIGNED = (
    b"[3G*6105117105*008D*UD2,210716,231601,V,-33.480366,N,-70.7630692,E,0.00,0.0,0.0,0,100,34,0,0,00000000,"
    b"3,255,730,2,29731,54315,167,29731,54316,162,29731,54317,145]"
)
# A negative longitude with W must not be flipped back to positive.
UD2_NEGATIVE_WEST = (
    b"[3G*6430073509*00E7*UD2,241016,081622,V,09.951861,N,-84.1422119,W,0.00,0.0,0.0,0,39,94,0,0,00000000,"
    b"1,0,712,3,2007,18961,123,4,Luz,00:23:6a:34:ee:76,-70,familia,b0:c5:54:b9:90:ef,-78,"
    b"fam salas delgado,fc:b4:e6:5d:50:ea,-81,QWERTY,c8:3a:35:43:0f:e8,-93]"
)
# S hemisphere and an empty longitude letter.
UD_SOUTH = (
    b"[SG*9081000548*00AC*UD,110116,113639,V,16.479064,S,68.119072,,0.7593,000,99,00,80,80,0,50,00000000,"
    b"5,1,736,2,10103,10732,153,10103,11061,152,10103,11012,152,10103,10151,150,10103,10731,143,,00]"
)
UD_WEST = (
    b"[SG*9059056143*0056*UD,251021,223408,A,41.46500,N,081.53128,W,0.926,000,0,00,70,70,0,50,00000000,"
    b"0,1,,,,00]"
)
UD_LTE = (
    b"[3G*2104326058*00E9*UD_LTE,300621,135101,A,32.162652,N,34.888748,E,30.84,265.158,65.621,18,100,83,0,0,"
    b"00000000,1,1,425,01,10223,8012811,100,3,ES4104,22:74:1d:39:64:ff,-46,metropoline-wifi,"
    b"a8:3f:a1:e0:66:ba,-89,Egged.co.il,00:0c:42:51:cf:cd,-81,1.7055488]"
)
# A cell whose rssi the firmware left empty.
UD2_EMPTY_CELL_RSSI = (
    b"[SG*9159059735*0069*UD2,230322,082138,A,59.55285,N,016.66185,E,0.0,000,26,14,80,70,0,50,00000000,"
    b"1,1,240,7,34505,80806406,,00]"
)
# No cells and no timing advance, straight to five access points (one with the MAC "0").
UD_WIFI_ONLY = (
    b"[3G*8800000015*00CD*UD,010120,025946,V,0.0,N,0.0,E,22.0,0,-1,0,100,98,0,0,00000000,0,5,"
    b"eduroam,f4:db:e6:d2:a8:00,-53,eduroam,f4:db:e6:da:d0:80,-79,eduroam,78:0c:f0:24:f9:80,-82,"
    b"Lions,b0:be:76:0a:05:9a,-82,tubs-guest,0,-53,0.0]"
)
WT = (
    b"[3G*6005412902*011F*WT,170517,133811,V,18.512200,N,73.7750283,E,0.00,0.0,0.0,0,92,82,4262,0,00000010,"
    b"2,1,404,22,10125,8301,141,10125,13921,122,5,Skynet,28:c6:8e:be:87:c0,-60,Intel Wi-Fi,"
    b"4c:60:de:32:3d:38,-70,Nirvanic-2,40:e3:d6:4a:d9:c2,-73,A4-Guest,40:e3:d6:4a:d9:c4,-73,"
    b"A4Idatix,40:e3:d6:4a:d9:c3,-73,13.8]"
)
# Status bit 21: fall. Bit 4 (motion) raises nothing.
AL_FALL = (
    b"[3G*8308373902*0080*AL,230817,095346,A,47.083950,N,15.4821850,E,7.60,273.8,0.0,4,15,44,0,0,00200010,"
    b"2,255,232,1,7605,42530,118,7605,58036,119,0,65.8]"
)
# Status bit 20: removed from the wrist; a 15-digit id and an access point without a name.
ALCUSTOMER1 = (
    b"[3G*358839237678820*0115*ALCUSTOMER1,251120,081821,V,0.0,N,0.0,E,2.58,317.462,35.147,14,100,2,11089,0,"
    b"00100008,1,1,460,01,42308,101992452,100,5,shizhou1,44:56:e2:03:ea:2a,-69,FART3,30:0d:9e:bb:fa:4d,-70,"
    b"ZKY-A209,88:c3:97:c1:f4:7f,-73,ChinaNet-HNeD,e8:84:c6:21:7c:dc,-77,,30:45:96:10:14:5d,-79,1.2035439]"
)
# A space before the longitude.
AL_SPACED = (
    b"[3G*8809008845*00C0*AL,271219,094744,V,00.000000,N, 0.0000000,E,0.00,0.0,0.0,0,100,81,0,0,00010000,"
    b"7,0,460,0,9336,3981,141,9336,3912,141,9336,3982,140,9765,4233,134,9765,4071,134,9765,4321,134,"
    b"9336,4353,132,0,0.0]"
)
# Our own: an alarm whose position block is garbage, and one without any status bit.
AL_GARBAGE = b"[3G*8800000015*000A*AL,garbage]"
AL_NO_BITS = (
    b"[3G*8800000015*0093*AL,220414,134652,A,22.571707,N,113.8613968,E,0.1,0.0,100,7,60,90,1000,50,00000000,"
    b"4,1,460,0,9360,4082,131,9360,4092,148,9360,4091,143,9360,4153,141]"
)
PULSE = b"[CS*8800000015*0008*PULSE,72]"
HEART = b"[3G*6005412902*0008*heart,71]"
HEART_ZERO = b"[3G*6005412902*0007*heart,0]"
BPHRT = b"[3G*4700609403*0013*bphrt,120,79,73,,,,]"
BLOOD_ZJ = b"[ZJ*357653059860416*0007*000c*BLOOD,109,68]"
BTEMP2 = b"[3G*2104326058*000E*btemp2,1,35.29]"
TKQ = b"[3G*8800000015*0003*TKQ]"
# Our own, in the formats of the 3G protocol document (as given in our brief).
OXYGEN = b"[3G*8800000015*000B*oxygen,98,0]"
TEMP = b"[3G*8800000015*0009*TEMP,36.5]"
TKQ2 = b"[3G*8800000015*0004*TKQ2]"
INIT = b"[3G*8800000015*0004*INIT]"
TK_ACK = b"[3G*8800000015*0004*TK,1]"
# Traccar's voice test: an AMR header then the bytes } [ ] , * 0xFF, escaped as the firmware sends them.
VOICE = b"[CS*1234567890*0014*TK,#!AMR\n}\x01}\x02}\x03}\x04}\x05\xff]"
VOICE_AUDIO = b"#!AMR\n}[],*\xff"

# (frame, manufacturer, device id, index, type)
HEADERS = [
    (LK_STEPS, "3G", "8800000015", None, "LK"),
    (LK_BARE, "SG", "8800000015", None, "LK"),
    (LK_ZJ, "ZJ", "014111001350304", "0038", "LK"),
    (UD_FIX, "3G", "8800000015", None, "UD"),
    (UD_WRONG_LEN, "SG", "8800000015", None, "UD"),
    (AL_SOS, "SG", "8800000015", None, "AL"),
    (UD_NO_FIX, "3G", "4700186508", None, "UD"),
    (UD_ZJ, "ZJ", "014111001350304", "0033", "UD"),
    (UD2_SIGNED, "3G", "6105117105", None, "UD2"),
    (UD2_NEGATIVE_WEST, "3G", "6430073509", None, "UD2"),
    (UD_SOUTH, "SG", "9081000548", None, "UD"),
    (UD_WEST, "SG", "9059056143", None, "UD"),
    (UD_LTE, "3G", "2104326058", None, "UD_LTE"),
    (UD2_EMPTY_CELL_RSSI, "SG", "9159059735", None, "UD2"),
    (UD_WIFI_ONLY, "3G", "8800000015", None, "UD"),
    (WT, "3G", "6005412902", None, "WT"),
    (AL_FALL, "3G", "8308373902", None, "AL"),
    (ALCUSTOMER1, "3G", "358839237678820", None, "ALCUSTOMER1"),
    (AL_SPACED, "3G", "8809008845", None, "AL"),
    (AL_GARBAGE, "3G", "8800000015", None, "AL"),
    (AL_NO_BITS, "3G", "8800000015", None, "AL"),
    (PULSE, "CS", "8800000015", None, "PULSE"),
    (HEART, "3G", "6005412902", None, "heart"),
    (HEART_ZERO, "3G", "6005412902", None, "heart"),
    (BPHRT, "3G", "4700609403", None, "bphrt"),
    (BLOOD_ZJ, "ZJ", "357653059860416", "0007", "BLOOD"),
    (BTEMP2, "3G", "2104326058", None, "btemp2"),
    (TKQ, "3G", "8800000015", None, "TKQ"),
    (OXYGEN, "3G", "8800000015", None, "oxygen"),
    (TEMP, "3G", "8800000015", None, "TEMP"),
    (TKQ2, "3G", "8800000015", None, "TKQ2"),
    (INIT, "3G", "8800000015", None, "INIT"),
    (TK_ACK, "3G", "8800000015", None, "TK"),
    (VOICE, "CS", "1234567890", None, "TK"),
]
CAPTURED = [row[0] for row in HEADERS]

LK_BARE_FRAME = Frame("SG", "8800000015", None, "LK", b"", LK_BARE)


# ---------------------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------------------


def drain(decoder: FrameDecoder) -> list[Frame | Rejected]:
    """Every event the decoder can produce from what it holds."""
    events: list[Frame | Rejected] = []
    while (event := decoder.next_event()) is not None:
        events.append(event)
    return events


def decode(data: bytes, chunk: int | None = None) -> list[Frame | Rejected]:
    """Feed `data` whole or in chunks of `chunk` bytes, draining after each read as a server would."""
    decoder = FrameDecoder()
    size = chunk or max(len(data), 1)
    events: list[Frame | Rejected] = []
    for start in range(0, len(data), size):
        decoder.feed(data[start : start + size])
        events += drain(decoder)
    return events


def frame_of(raw: bytes) -> Frame:
    """The single frame in `raw`."""
    [frame] = decode(raw)
    assert isinstance(frame, Frame)
    return frame


def message_of(raw: bytes) -> Message:
    """The message of the single frame in `raw`."""
    return parse_message(frame_of(raw))


def report_of(raw: bytes) -> PositionReport:
    """The position report of a UD*/WT/AL* frame."""
    message = message_of(raw)
    assert isinstance(message, PositionMessage | AlarmMessage)
    assert message.report is not None
    return message.report


def frame(content: bytes, manufacturer: str = "3G", device_id: str = "8800000015") -> bytes:
    """A well-formed frame around `content` (LEN computed)."""
    return encode_frame(manufacturer, device_id, None, content)


def position_block(
    *,
    validity: str = "A",
    lat: str = "22.5,N",
    lon: str = "113.9,E",
    status: str = "00000000",
    tail: str = "",
) -> bytes:
    """A UD-style position block with chosen coordinates, status and network tail."""
    return f"220414,134652,{validity},{lat},{lon},0.1,0.0,100,7,60,90,1000,50,{status}{tail}".encode()


def tr(raw: bytes, expected: Frame) -> None:
    """h11's `tr`: decoded whole, byte by byte, glued to another frame, and followed by junk."""
    assert decode(raw) == [expected]
    assert decode(raw, chunk=1) == [expected]
    assert decode(raw + LK_BARE) == [expected, LK_BARE_FRAME]
    assert decode(LK_BARE + b"\r\n" + raw, chunk=3) == [LK_BARE_FRAME, expected]
    assert decode(raw + b"garbage") == [expected, Rejected("junk before frame", b"garbage", fatal=False)]
    assert decode(b"\r\n" + raw + b"\r\n") == [expected]


# ---------------------------------------------------------------------------------------------------------
# Frame layer
# ---------------------------------------------------------------------------------------------------------


def test_public_surface() -> None:
    assert set(codec.__all__) == {
        "COMMANDS", "MAX_FRAME_BYTES", "AlarmMessage", "BloodPressure", "CellTower", "Frame", "FrameDecoder",
        "HeartRate", "Heartbeat", "Init", "LinkCheck", "Malformed", "Message", "PositionMessage",
        "PositionReport", "Rejected", "SpO2", "Temperature", "Unknown", "VoiceClip", "WifiAccessPoint",
        "encode_command", "encode_frame", "events_for", "parse_message", "reply_for", "status_alarms",
    }  # fmt: skip
    assert MAX_FRAME_BYTES == 32 * 1024


@pytest.mark.parametrize(
    ("raw", "index"), [(row[0], row[3]) for row in HEADERS if row[0] is not UD_WRONG_LEN]
)
def test_constants_declare_the_length_of_their_escaped_content(raw: bytes, index: str | None) -> None:
    *_, declared, content = raw[1:-1].split(b"*", 4 if index else 3)
    assert int(declared, 16) == len(content)


@pytest.mark.parametrize(("raw", "manufacturer", "device_id", "index", "msg_type"), HEADERS)
def test_captured_frame_decodes_whole_bytewise_glued_and_with_junk(
    raw: bytes, manufacturer: str, device_id: str, index: str | None, msg_type: str
) -> None:
    content = raw[1:-1].split(b"*", 4 if index else 3)[-1]
    payload = content.partition(b",")[2]
    expected = Frame(
        manufacturer, device_id, index, msg_type, payload if raw is not VOICE else VOICE_AUDIO, raw
    )
    tr(raw, expected)


def test_frame_fields_of_a_heartbeat() -> None:
    assert frame_of(LK_STEPS) == Frame("3G", "8800000015", None, "LK", b"50,100,100", LK_STEPS)


def test_zj_index_and_lowercase_length() -> None:
    assert frame_of(LK_ZJ) == Frame("ZJ", "014111001350304", "0038", "LK", b"0,0,100", LK_ZJ)
    assert frame_of(BLOOD_ZJ) == Frame("ZJ", "357653059860416", "0007", "BLOOD", b"109,68", BLOOD_ZJ)


def test_wrong_length_is_tolerated() -> None:
    wrong, right = frame_of(UD_WRONG_LEN), frame_of(UD_FIX)
    assert wrong.payload == right.payload
    assert parse_message(wrong) == parse_message(right)


def test_escapes_are_undone_in_the_payload() -> None:
    assert frame_of(VOICE).payload == VOICE_AUDIO
    assert frame_of(VOICE).raw == VOICE


def test_a_7d_byte_followed_by_anything_else_is_kept() -> None:
    assert frame_of(b"[3G*8800000015*0008*TK,}\x09}\x00}]").payload == b"}\x09}\x00}"


def test_whitespace_between_frames_is_skipped() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\r\n  " + LK_BARE + b"\r\n\t" + LK_BARE + b"\n")
    assert drain(decoder) == [LK_BARE_FRAME, LK_BARE_FRAME]
    assert decoder.buffered == 0


def test_junk_before_a_frame_is_rejected_then_the_frame_decodes() -> None:
    assert decode(b"hello" + LK_BARE) == [Rejected("junk before frame", b"hello", fatal=False), LK_BARE_FRAME]


def test_junk_without_any_bracket_is_dropped() -> None:
    decoder = FrameDecoder()
    decoder.feed(b"\x00\xffGET / HTTP/1.1")
    assert drain(decoder) == [Rejected("junk before frame", b"\x00\xffGET / HTTP/1.1", fatal=False)]
    assert decoder.buffered == 0


def test_junk_fed_byte_by_byte_is_rejected_byte_by_byte() -> None:
    events = decode(b"ab" + LK_BARE, chunk=1)
    assert events == [
        Rejected("junk before frame", b"a", fatal=False),
        Rejected("junk before frame", b"b", fatal=False),
        LK_BARE_FRAME,
    ]


def test_a_closing_bracket_without_an_opening_one_is_junk() -> None:
    assert decode(b"]]" + LK_BARE) == [Rejected("junk before frame", b"]]", fatal=False), LK_BARE_FRAME]


def test_rejected_data_is_truncated_to_256_bytes() -> None:
    [rejected] = decode(b"x" * 1000)
    assert rejected == Rejected("junk before frame", b"x" * 256, fatal=False)


@pytest.mark.parametrize("chunk", [None, 1, 7])
def test_a_new_frame_inside_an_unfinished_one_rejects_the_partial_frame(chunk: int | None) -> None:
    partial = b"[3G*8800000015*000D*LK,50"
    assert decode(partial + LK_BARE, chunk) == [
        Rejected("truncated frame", partial, fatal=False),
        LK_BARE_FRAME,
    ]


def test_a_partial_frame_waits_for_the_rest() -> None:
    decoder = FrameDecoder()
    decoder.feed(LK_STEPS[:10])
    assert decoder.next_event() is None
    assert decoder.buffered == 10
    decoder.feed(LK_STEPS[10:])
    assert decoder.next_event() == frame_of(LK_STEPS)
    assert decoder.next_event() is None
    assert decoder.buffered == 0


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"[]", "bad header: missing fields"),
        (b"[LK]", "bad header: missing fields"),
        (b"[3G8800000015*0002*LK]", "bad header: missing fields"),
        (b"[3GX*8800000015*0002*LK]", "bad header: manufacturer"),
        (b"[3*8800000015*0002*LK]", "bad header: manufacturer"),
        (b"[3G*880000001*0002*LK]", "bad header: device id"),
        (b"[3G*88000000AB*0002*LK]", "bad header: device id"),
        (b"[3G**0002*LK]", "bad header: device id"),
        (b"[3G*8800000015*02*LK]", "bad header: length"),
        (b"[3G*8800000015*00G2*LK]", "bad header: length"),
        (b"[3G*8800000015*0002*]", "bad message type"),
        (b"[3G*8800000015*0003*L K]", "bad message type"),
        (b"[3G*8800000015*0003*,50]", "bad message type"),
        (b"[3G*8800000015*0003*\xff\xfe]", "bad message type"),
    ],
)
def test_bad_header_is_a_non_fatal_rejection_and_the_stream_goes_on(raw: bytes, reason: str) -> None:
    assert decode(raw + LK_BARE) == [Rejected(reason, raw, fatal=False), LK_BARE_FRAME]


@pytest.mark.parametrize("chunk", [None, 1000, 4096])
def test_oversized_frame_is_fatal_and_drops_the_buffer(chunk: int | None) -> None:
    head = b"[3G*8800000015*8000*TK,"
    decoder = FrameDecoder()
    data = head + b"a" * MAX_FRAME_BYTES
    events: list[Frame | Rejected] = []
    for start in range(0, len(data), chunk or len(data)):
        decoder.feed(data[start : start + (chunk or len(data))])
        events += drain(decoder)
        assert decoder.buffered < MAX_FRAME_BYTES
    fatal = [event for event in events if isinstance(event, Rejected) and event.fatal]
    assert len(fatal) == 1
    assert fatal[0].reason == "oversized frame"
    assert fatal[0].data == (head + b"a" * 256)[:256]
    assert events[0] == fatal[0]


def test_a_frame_of_exactly_max_bytes_is_accepted_and_one_more_is_fatal() -> None:
    head = b"[3G*8800000015*7FE0*TK,"
    fits = head + b"a" * (MAX_FRAME_BYTES - len(head) - 1) + b"]"
    assert len(fits) == MAX_FRAME_BYTES
    [accepted] = decode(fits)
    assert isinstance(accepted, Frame)
    assert len(accepted.payload) == MAX_FRAME_BYTES - len(head) - 1
    too_big = head + b"a" * (MAX_FRAME_BYTES - len(head)) + b"]"
    [rejected, *rest] = decode(too_big)
    assert isinstance(rejected, Rejected)
    assert (rejected.reason, rejected.fatal) == ("oversized frame", True)
    assert rest == []  # the whole buffer, closing bracket included, was dropped


def test_a_large_voice_clip_in_small_reads() -> None:
    clip = frame(b"TK," + bytes(range(256)) * 100)
    events = decode(clip, chunk=16)
    assert len(events) == 1
    assert isinstance(events[0], Frame)
    assert events[0].payload == bytes(range(256)) * 100


# ---------------------------------------------------------------------------------------------------------
# encode_frame
# ---------------------------------------------------------------------------------------------------------


def test_encode_frame_byte_exact() -> None:
    assert encode_frame("3G", "8800000015", None, b"LK") == b"[3G*8800000015*0002*LK]"
    assert encode_frame("ZJ", "014111001350304", "0038", b"LK") == b"[ZJ*014111001350304*0038*0002*LK]"
    assert encode_frame("3G", "8800000015", None, b"UPLOAD,600") == b"[3G*8800000015*000A*UPLOAD,600]"


def test_encode_frame_escapes_brackets_and_braces_but_not_separators() -> None:
    encoded = encode_frame("CS", "1234567890", None, b"TK,a}b[c]d,e*f")
    assert encoded == b"[CS*1234567890*0011*TK,a}\x01b}\x02c}\x03d,e*f]"
    assert frame_of(encoded).payload == b"a}b[c]d,e*f"


@pytest.mark.parametrize(
    ("manufacturer", "device_id", "index"),
    [
        ("3", "8800000015", None),
        ("3GG", "8800000015", None),
        ("3*", "8800000015", None),
        ("3G", "880000001", None),
        ("3G", "88000000150", None),
        ("3G", "880000001x", None),
        ("3G", "8800000015", "038"),
        ("3G", "8800000015", "00G8"),
    ],
)
def test_encode_frame_refuses_a_header_no_device_would_accept(
    manufacturer: str, device_id: str, index: str | None
) -> None:
    with pytest.raises(ValueError, match="must be"):
        encode_frame(manufacturer, device_id, index, b"LK")


def test_encode_frame_refuses_content_longer_than_its_length_field() -> None:
    with pytest.raises(ValueError, match="65535"):
        encode_frame("3G", "8800000015", None, b"TK," + b"[" * 40000)


@st.composite
def frames_to_encode(draw: st.DrawFn) -> tuple[str, str, str | None, str, bytes]:
    """A header, a message type and an arbitrary binary payload."""
    manufacturer = draw(st.sampled_from(["3G", "SG", "CS", "ZJ", "IW"]))
    device_id = draw(st.from_regex(r"[0-9]{10}|[0-9]{15}", fullmatch=True))
    index = draw(st.none() | st.from_regex(r"[0-9A-F]{4}", fullmatch=True))
    msg_type = draw(st.sampled_from(["TK", "UD", "LK", "bphrt", "UD_LTE", "AL"]))
    payload = draw(
        st.binary(max_size=600) | st.lists(st.sampled_from(b"[]},*\x01\x02\x03\x04\x05")).map(bytes)
    )
    return manufacturer, device_id, index, msg_type, payload


@settings(max_examples=200, deadline=None)
@given(frames_to_encode(), st.integers(min_value=1, max_value=64))
def test_encode_then_decode_round_trips_binary_payloads(
    parts: tuple[str, str, str | None, str, bytes], chunk: int
) -> None:
    manufacturer, device_id, index, msg_type, payload = parts
    raw = encode_frame(manufacturer, device_id, index, msg_type.encode() + b"," + payload)
    assert b"[" not in raw[1:-1]
    assert b"]" not in raw[1:-1]
    expected = Frame(manufacturer, device_id, index, msg_type, payload, raw)
    assert decode(raw, chunk) == [expected]
    assert decode(raw + raw) == [expected, expected]


# ---------------------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (LK_STEPS, Heartbeat(steps=50, rolls=100, battery=100)),
        (LK_BARE, Heartbeat(steps=None, rolls=None, battery=None)),
        (LK_ZJ, Heartbeat(steps=0, rolls=0, battery=100)),
        (b"[SG*9081000548*0009*LK,0,100]", Heartbeat(steps=0, rolls=100, battery=None)),
        # Unreadable fields are dropped, not the heartbeat: the device is still alive.
        (frame(b"LK,abc,5,200"), Heartbeat(steps=None, rolls=5, battery=None)),
        (frame(b"LK,-1,,-3"), Heartbeat(steps=None, rolls=None, battery=None)),
    ],
)
def test_heartbeat(raw: bytes, expected: Heartbeat) -> None:
    assert message_of(raw) == expected


def test_position_report_with_a_fix() -> None:
    assert message_of(UD_FIX) == PositionMessage(
        kind="UD",
        report=PositionReport(
            device_time=datetime(2014, 4, 22, 13, 46, 52, tzinfo=UTC),
            fixed=True,
            lat=22.571707,
            lon=113.8613968,
            speed_kmh=0.1,
            course=0.0,
            altitude_m=100.0,
            satellites=7,
            gsm_signal=60,
            battery=90,
            steps=1000,
            rolls=50,
            status=0,
            cells=(
                CellTower(mcc=460, mnc=0, lac=9360, cid=4082, rssi=131),
                CellTower(mcc=460, mnc=0, lac=9360, cid=4092, rssi=148),
                CellTower(mcc=460, mnc=0, lac=9360, cid=4091, rssi=143),
                CellTower(mcc=460, mnc=0, lac=9360, cid=4153, rssi=141),
            ),
            wifis=(),
        ),
    )


def test_v_report_at_zero_zero_has_no_coordinates_but_keeps_cells_and_wifis() -> None:
    report = report_of(UD_NO_FIX)
    assert (report.fixed, report.lat, report.lon) == (False, None, None)
    assert report.device_time == datetime(2017, 10, 30, 15, 54, 52, tzinfo=UTC)
    assert report.device_time.utcoffset() is not None
    assert (report.battery, report.steps, report.rolls, report.status) == (61, 0, 11, 8)
    assert len(report.cells) == 7
    assert report.cells[0] == CellTower(mcc=460, mnc=1, lac=9346, cid=5223, rssi=148)
    assert report.cells[-1] == CellTower(mcc=460, mnc=1, lac=9346, cid=4081, rssi=125)
    assert report.wifis == (WifiAccessPoint(name="WIFI1", mac="bc:5f:f6:c9:6f:d8", rssi=-71),)


def test_zj_position_report() -> None:
    message = message_of(UD_ZJ)
    assert isinstance(message, PositionMessage)
    assert (message.report.lat, message.report.lon, message.report.fixed) == (None, None, False)
    assert message.report.cells == (CellTower(mcc=460, mnc=0, lac=9346, cid=5223, rssi=42),)


def test_signed_coordinates_with_n_and_e_keep_their_sign() -> None:
    report = report_of(UD2_SIGNED)
    assert (report.lat, report.lon, report.fixed) == (-33.480366, -70.7630692, False)
    assert report.device_time == datetime(2016, 7, 21, 23, 16, 1, tzinfo=UTC)
    assert [cell.cid for cell in report.cells] == [54315, 54316, 54317]


def test_negative_longitude_with_w_is_not_flipped_twice() -> None:
    report = report_of(UD2_NEGATIVE_WEST)
    assert (report.lat, report.lon) == (9.951861, -84.1422119)
    assert report.cells == (CellTower(mcc=712, mnc=3, lac=2007, cid=18961, rssi=123),)
    assert [wifi.name for wifi in report.wifis] == ["Luz", "familia", "fam salas delgado", "QWERTY"]
    assert report.wifis[-1] == WifiAccessPoint(name="QWERTY", mac="c8:3a:35:43:0f:e8", rssi=-93)


def test_south_latitude_and_an_empty_longitude_letter() -> None:
    report = report_of(UD_SOUTH)
    assert (report.lat, report.lon, report.fixed) == (-16.479064, 68.119072, False)
    assert (report.speed_kmh, report.course, report.altitude_m) == (0.7593, 0.0, 99.0)
    assert len(report.cells) == 5
    assert report.cells[0] == CellTower(mcc=736, mnc=2, lac=10103, cid=10732, rssi=153)
    assert report.wifis == ()


def test_west_longitude_without_cells() -> None:
    report = report_of(UD_WEST)
    assert (report.lat, report.lon, report.fixed) == (41.465, -81.53128, True)
    assert report.device_time == datetime(2021, 10, 25, 22, 34, 8, tzinfo=UTC)
    assert (report.cells, report.wifis) == ((), ())


def test_lte_report_with_cells_and_wifis() -> None:
    message = message_of(UD_LTE)
    assert isinstance(message, PositionMessage)
    assert message.kind == "UD_LTE"
    report = message.report
    assert (report.speed_kmh, report.course, report.altitude_m, report.satellites) == (
        30.84,
        265.158,
        65.621,
        18,
    )
    assert (report.gsm_signal, report.battery) == (100, 83)
    assert report.cells == (CellTower(mcc=425, mnc=1, lac=10223, cid=8012811, rssi=100),)
    assert report.wifis == (
        WifiAccessPoint(name="ES4104", mac="22:74:1d:39:64:ff", rssi=-46),
        WifiAccessPoint(name="metropoline-wifi", mac="a8:3f:a1:e0:66:ba", rssi=-89),
        WifiAccessPoint(name="Egged.co.il", mac="00:0c:42:51:cf:cd", rssi=-81),
    )


def test_an_empty_cell_rssi_is_none() -> None:
    report = report_of(UD2_EMPTY_CELL_RSSI)
    assert report.cells == (CellTower(mcc=240, mnc=7, lac=34505, cid=80806406, rssi=None),)
    assert report.wifis == ()


def test_wifis_right_after_an_empty_cell_list() -> None:
    report = report_of(UD_WIFI_ONLY)
    assert report.cells == ()
    assert len(report.wifis) == 5
    assert report.wifis[0] == WifiAccessPoint(name="eduroam", mac="f4:db:e6:d2:a8:00", rssi=-53)
    assert report.wifis[-1] == WifiAccessPoint(name="tubs-guest", mac="0", rssi=-53)
    assert report.altitude_m == -1.0


def test_wt_is_a_position_report() -> None:
    message = message_of(WT)
    assert isinstance(message, PositionMessage)
    assert message.kind == "WT"
    assert (message.report.lat, message.report.lon, message.report.fixed) == (18.5122, 73.7750283, False)
    assert (message.report.steps, message.report.status) == (4262, 0x10)
    assert len(message.report.cells) == 2
    assert [wifi.name for wifi in message.report.wifis][:2] == ["Skynet", "Intel Wi-Fi"]


@pytest.mark.parametrize(
    ("lat", "lon", "expected"),
    [
        ("22.5,N", "113.9,E", (22.5, 113.9)),
        ("22.5,S", "113.9,W", (-22.5, -113.9)),
        ("22.5,s", "113.9,w", (-22.5, -113.9)),
        ("-22.5,S", "-113.9,W", (-22.5, -113.9)),
        ("-22.5,", "-113.9,", (-22.5, -113.9)),
        ("22.5,", "113.9,", (22.5, 113.9)),
        ("+22.5,S", "113,W", (-22.5, -113.0)),
        (" 22.5,N", " 113.9,E", (22.5, 113.9)),
        ("0.0,S", "0.0,W", (0.0, 0.0)),
        ("90.0,N", "180.0,E", (90.0, 180.0)),
    ],
)
def test_hemispheres(lat: str, lon: str, expected: tuple[float, float]) -> None:
    report = report_of(frame(b"UD," + position_block(lat=lat, lon=lon)))
    assert (report.lat, report.lon, report.fixed) == (*expected, True)


@pytest.mark.parametrize(
    ("lat", "lon"), [("95.0,N", "10.0,E"), ("10.0,N", "180.5,E"), ("-90.1,", "10.0,E"), ("10.0,N", "200,W")]
)
def test_coordinates_out_of_range_are_none_and_not_fixed(lat: str, lon: str) -> None:
    report = report_of(frame(b"UD," + position_block(lat=lat, lon=lon, tail=",1,1,460,0,9360,4082,131")))
    assert (report.lat, report.lon, report.fixed) == (None, None, False)
    assert report.cells == (CellTower(mcc=460, mnc=0, lac=9360, cid=4082, rssi=131),)


def test_a_v_report_with_a_real_position_keeps_it() -> None:
    report = report_of(frame(b"UD," + position_block(validity="V")))
    assert (report.lat, report.lon, report.fixed) == (22.5, 113.9, False)


@pytest.mark.parametrize(("date", "time"), [("320414", "134652"), ("220414", "246000"), ("2204", "134652")])
def test_an_invalid_device_time_is_none(date: str, time: str) -> None:
    block = position_block().replace(b"220414,134652", f"{date},{time}".encode())
    report = report_of(frame(b"UD," + block))
    assert report.device_time is None
    assert report.lat == 22.5


@pytest.mark.parametrize(
    ("tail", "cells", "wifis"),
    [
        ("", 0, 0),
        (",", 0, 0),
        (",x,1,460,0,9360,4082,131", 0, 0),
        (",4,1,460,0,9360,4082,131,9360", 1, 0),
        (",4,1,460,0,9360,4082,131,9360,oops,1,2,3,4,5,6", 1, 0),
        (",2,1,460,0", 0, 0),
        (",1,1,460,0,9360,4082,131,2,home,aa:bb:cc:dd:ee:ff,-50,next", 1, 1),
        (",1,1,460,0,9360,4082,131,2,home,aa:bb:cc:dd:ee:ff,-50,next,11:22:33:44:55:66,x", 1, 1),
        (",1,1,460,0,9360,4082,131,1,home,,-50", 1, 0),
        (",1,1,,,9360,4082,131", 1, 0),
        (",0,1,1,home,aa:bb:cc:dd:ee:ff,-50", 0, 1),
        (",0,1,,,,00", 0, 0),
        (",-3,1", 0, 0),
    ],
)
def test_network_parsing_is_tolerant(tail: str, cells: int, wifis: int) -> None:
    report = report_of(frame(b"UD," + position_block(tail=tail)))
    assert (len(report.cells), len(report.wifis)) == (cells, wifis)


def test_missing_mcc_and_mnc_count_as_zero() -> None:
    report = report_of(frame(b"UD," + position_block(tail=",1,1,,,9360,4082,131")))
    assert report.cells == (CellTower(mcc=0, mnc=0, lac=9360, cid=4082, rssi=131),)


def test_status_may_be_shorter_than_eight_digits() -> None:
    assert report_of(frame(b"UD," + position_block(status="1"))).status == 1
    assert report_of(frame(b"UD," + position_block(status="0010"))).status == 0x10


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"UD", "position block has 0 fields, expected at least 16"),
        (b"UD,1,2,3", "position block has 3 fields, expected at least 16"),
        (b"UD," + position_block(validity="X"), "validity is neither A nor V"),
        (b"UD," + position_block(lat="abc,N"), "latitude is not a number"),
        (b"UD," + position_block(lat="nan,N"), "latitude is not a number"),
        (b"UD," + position_block(lon="1e3,E"), "longitude is not a number"),
        (b"UD," + position_block(lat="22.5,Q"), "latitude hemisphere is not N or S"),
        (b"UD," + position_block(lon="113.9,N"), "longitude hemisphere is not E or W"),
        (b"UD," + position_block(status="XYZ"), "status is not hexadecimal"),
        (b"UD," + position_block(status="123456789"), "status is not hexadecimal"),
        (b"UD_LTE," + position_block().replace(b",0.1,", b",fast,"), "speed is not a number"),
        (b"UD," + position_block().replace(b",7,60,", b",7.5,60,"), "satellites is not an integer"),
        (b"UD," + position_block().replace(b",1000,", b"," + b"9" * 5000 + b","), "steps is not an integer"),
    ],
)
def test_unreadable_position_report_is_malformed(content: bytes, reason: str) -> None:
    msg_type = content.partition(b",")[0].decode()
    assert message_of(frame(content)) == Malformed(msg_type, reason)


def test_alarm_with_sos_position() -> None:
    message = message_of(AL_SOS)
    assert isinstance(message, AlarmMessage)
    assert (message.kind, message.error) == ("AL", None)
    assert message.report == replace(report_of(UD_FIX), status=0x10000)


def test_alarm_variants_keep_their_kind() -> None:
    message = message_of(ALCUSTOMER1)
    assert isinstance(message, AlarmMessage)
    assert message.kind == "ALCUSTOMER1"
    assert message.report is not None
    assert message.report.status == 0x00100008
    assert message.report.wifis[4] == WifiAccessPoint(name="", mac="30:45:96:10:14:5d", rssi=-79)
    lte = message_of(frame(b"AL_LTE," + position_block(status="00010000")))
    assert isinstance(lte, AlarmMessage)
    assert (lte.kind, lte.error) == ("AL_LTE", None)


def test_alarm_with_a_space_before_the_longitude() -> None:
    report = report_of(AL_SPACED)
    assert (report.lat, report.lon, report.fixed) == (None, None, False)
    assert len(report.cells) == 7
    assert report.status == 0x10000


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        (AL_GARBAGE, "position block has 1 fields, expected at least 16"),
        (frame(b"AL"), "position block has 0 fields, expected at least 16"),
        (frame(b"AL," + position_block(lat="??,N")), "latitude is not a number"),
    ],
)
def test_an_alarm_with_an_unreadable_position_is_still_an_alarm(raw: bytes, error: str) -> None:
    assert message_of(raw) == AlarmMessage(kind="AL", report=None, error=error)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (PULSE, HeartRate(72)),
        (HEART, HeartRate(71)),
        (frame(b"HEART,85"), HeartRate(85)),
        (frame(b"pulse,20"), HeartRate(20)),
        (frame(b"heart,250,1"), HeartRate(250)),
        (BPHRT, BloodPressure(120, 79, 73)),
        (frame(b"bphrt,120,79,73,0,0"), BloodPressure(120, 79, 73)),
        (frame(b"bphrt,120,79,0"), BloodPressure(120, 79, None)),
        (frame(b"BLOOD,130,85"), BloodPressure(130, 85, None)),
        (BLOOD_ZJ, BloodPressure(109, 68, None)),
        (OXYGEN, SpO2(98)),
        (frame(b"OXYGEN,100"), SpO2(100)),
        (TEMP, Temperature(36.5)),
        (frame(b"temp,30"), Temperature(30.0)),
        (BTEMP2, Temperature(35.29)),
        (frame(b"btemp2,0,37.1"), Temperature(37.1)),
        (TKQ, LinkCheck("TKQ")),
        (TKQ2, LinkCheck("TKQ2")),
        (INIT, Init()),
        (frame(b"INIT,13800138000,1,1"), Init()),
        (VOICE, VoiceClip(VOICE_AUDIO)),
        (TK_ACK, Unknown("TK")),
        (frame(b"TK"), Unknown("TK")),
        (frame(b"CONFIG,TY:g,UL:60"), Unknown("CONFIG")),
        (frame(b"img,1,2,3"), Unknown("img")),
    ],
)
def test_messages(raw: bytes, expected: Message) -> None:
    assert message_of(raw) == expected


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"heart,abc", "heart rate is not an integer"),
        (b"heart,0", "heart rate outside 20..250"),
        (b"PULSE,251", "heart rate outside 20..250"),
        (b"PULSE,", "heart rate is not an integer"),
        (b"PULSE", "heart rate is not an integer"),
        (b"BLOOD,120", "diastolic is not an integer"),
        (b"BLOOD,39,20", "systolic outside 40..300"),
        (b"BLOOD,301,80", "systolic outside 40..300"),
        (b"bphrt,120,19", "diastolic outside 20..200"),
        (b"bphrt,120,201", "diastolic outside 20..200"),
        (b"bphrt,120,79,300", "heart rate outside 20..250"),
        (b"bphrt,120,79,x", "heart rate is not an integer"),
        (b"oxygen,49", "SpO2 outside 50..100"),
        (b"oxygen,101", "SpO2 outside 50..100"),
        (b"oxygen,ninety", "SpO2 is not an integer"),
        (b"TEMP,29.9", "temperature outside 30.0..45.0"),
        (b"TEMP,45.1", "temperature outside 30.0..45.0"),
        (b"TEMP,inf", "temperature is not a number"),
        (b"btemp2,1", "temperature is not a number"),
        (b"btemp2,x,36.5", "temperature flag is not an integer"),
    ],
)
def test_health_values_that_cannot_be_read_or_are_implausible_are_malformed(
    content: bytes, reason: str
) -> None:
    msg_type = content.partition(b",")[0].decode()
    assert message_of(frame(content)) == Malformed(msg_type, reason)


def test_malformed_reasons_carry_no_measured_values() -> None:
    message = message_of(frame(b"BLOOD,299,199,251"))
    assert isinstance(message, Malformed)
    assert "251" not in message.reason
    assert "299" not in message.reason


# ---------------------------------------------------------------------------------------------------------
# Status bits
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (0, []),
        (0x00000008 | 0x00000010, []),  # bits 3 and 4 are not alarms
        (1 << 16, [EventType.sos]),
        (1 << 16 | 1 << 0, [EventType.sos, EventType.low_battery]),
        (1 << 17 | 1 << 16, [EventType.sos, EventType.low_battery]),
        (1 << 0 | 1 << 17, [EventType.low_battery]),
        (1 << 21, [EventType.fall]),
        (1 << 22, [EventType.fall]),
        (1 << 21 | 1 << 22, [EventType.fall]),
        (1 << 20, [EventType.removed]),
        (1 << 1, [EventType.geofence_exit]),
        (1 << 18, [EventType.geofence_exit]),
        (1 << 2, [EventType.geofence_enter]),
        (1 << 19, [EventType.geofence_enter]),
        (1 << 14, [EventType.power_cut]),
        (1 << 14 | 1 << 21, [EventType.fall, EventType.power_cut]),
        (
            0xFFFFFFFF,
            [
                EventType.sos,
                EventType.fall,
                EventType.removed,
                EventType.low_battery,
                EventType.geofence_exit,
                EventType.geofence_enter,
                EventType.power_cut,
            ],
        ),
    ],
)
def test_status_alarms_decodes_every_bit(status: int, expected: list[EventType]) -> None:
    assert status_alarms(status) == expected


@given(st.integers(min_value=0, max_value=0xFFFFFFFF))
def test_status_alarms_are_unique_and_in_urgency_order(status: int) -> None:
    order = [EventType.sos, EventType.fall, EventType.removed, EventType.low_battery]
    order += [EventType.geofence_exit, EventType.geofence_enter, EventType.power_cut]
    alarms = status_alarms(status)
    assert alarms == [event_type for event_type in order if event_type in alarms]
    assert bool(alarms) == bool(status & 0b111_1111_0100_0000_0000_0111)


# ---------------------------------------------------------------------------------------------------------
# Events
# ---------------------------------------------------------------------------------------------------------

UD_FIX_DATA = {
    "battery": 90,
    "steps": 1000,
    "rolls": 50,
    "speed_kmh": 0.1,
    "course": 0.0,
    "altitude_m": 100.0,
    "satellites": 7,
    "gsm_signal": 60,
    "status": "00000000",
    "cells": [
        {"mcc": 460, "mnc": 0, "lac": 9360, "cid": 4082, "rssi": 131},
        {"mcc": 460, "mnc": 0, "lac": 9360, "cid": 4092, "rssi": 148},
        {"mcc": 460, "mnc": 0, "lac": 9360, "cid": 4091, "rssi": 143},
        {"mcc": 460, "mnc": 0, "lac": 9360, "cid": 4153, "rssi": 141},
    ],
    "wifis": [],
}
UD_FIX_TIME = datetime(2014, 4, 22, 13, 46, 52, tzinfo=UTC)
UD_FIX_POSITION = Position(lon=113.8613968, lat=22.571707, fixed=True)


def test_heartbeat_events() -> None:
    assert events_for(message_of(LK_STEPS)) == [
        IncomingEvent(EventType.heartbeat, None, None, {"steps": 50, "rolls": 100, "battery": 100})
    ]
    assert events_for(message_of(LK_BARE)) == [IncomingEvent(EventType.heartbeat, None, None, {})]
    assert events_for(Heartbeat(steps=None, rolls=None, battery=80)) == [
        IncomingEvent(EventType.heartbeat, None, None, {"battery": 80})
    ]


def test_position_event() -> None:
    assert events_for(message_of(UD_FIX)) == [
        IncomingEvent(EventType.position, UD_FIX_TIME, UD_FIX_POSITION, UD_FIX_DATA)
    ]


def test_position_report_with_status_alarms_raises_them_first() -> None:
    raw = frame(b"UD," + position_block(status="00010001", tail=",0,1"))
    events = events_for(message_of(raw))
    assert [event.type for event in events] == [EventType.sos, EventType.low_battery, EventType.position]
    assert {event.position for event in events} == {Position(lon=113.9, lat=22.5, fixed=True)}
    assert all(event.data["status"] == "00010001" for event in events)
    assert all(event.device_time == UD_FIX_TIME for event in events)


def test_events_do_not_share_mutable_data() -> None:
    events = events_for(message_of(frame(b"UD," + position_block(status="00010000"))))
    events[0].data["cells"].append("x")
    assert events[1].data["cells"] == []


def test_v_report_event_has_no_coordinates_but_keeps_the_network() -> None:
    [event] = events_for(message_of(UD_NO_FIX))
    assert event.type == EventType.position
    assert event.position == Position(lon=None, lat=None, fixed=False)
    assert len(event.data["cells"]) == 7
    assert event.data["wifis"] == [{"name": "WIFI1", "mac": "bc:5f:f6:c9:6f:d8", "rssi": -71}]
    assert event.data["status"] == "00000008"


def test_sos_alarm_event() -> None:
    assert events_for(message_of(AL_SOS)) == [
        IncomingEvent(
            EventType.sos,
            UD_FIX_TIME,
            UD_FIX_POSITION,
            {**UD_FIX_DATA, "status": "00010000", "alarm_kind": "AL"},
        )
    ]


def test_an_alarm_without_known_bits_is_a_generic_alarm() -> None:
    assert events_for(message_of(AL_NO_BITS)) == [
        IncomingEvent(EventType.alarm, UD_FIX_TIME, UD_FIX_POSITION, {**UD_FIX_DATA, "alarm_kind": "AL"})
    ]


@pytest.mark.parametrize(
    ("raw", "types"),
    [
        (AL_FALL, [EventType.fall]),
        (ALCUSTOMER1, [EventType.removed]),
        (AL_SPACED, [EventType.sos]),
        (
            frame(b"AL," + position_block(status="00014001")),
            [EventType.sos, EventType.low_battery, EventType.power_cut],
        ),
    ],
)
def test_alarm_types_from_status_bits(raw: bytes, types: list[EventType]) -> None:
    events = events_for(message_of(raw))
    assert [event.type for event in events] == types
    assert all(event.data["alarm_kind"] == frame_of(raw).msg_type for event in events)


def test_an_alarm_with_a_garbage_position_is_still_an_alarm_event() -> None:
    assert events_for(message_of(AL_GARBAGE)) == [
        IncomingEvent(
            EventType.alarm,
            None,
            None,
            {"alarm_kind": "AL", "position_error": "position block has 1 fields, expected at least 16"},
        )
    ]


@pytest.mark.parametrize(
    ("raw", "data"),
    [
        (PULSE, {"heart_rate": 72}),
        (HEART, {"heart_rate": 71}),
        (BPHRT, {"systolic": 120, "diastolic": 79, "heart_rate": 73}),
        (BLOOD_ZJ, {"systolic": 109, "diastolic": 68}),
        (OXYGEN, {"spo2": 98}),
        (TEMP, {"temperature": 36.5}),
        (BTEMP2, {"temperature": 35.29}),
    ],
)
def test_vitals_events(raw: bytes, data: dict[str, object]) -> None:
    assert events_for(message_of(raw)) == [IncomingEvent(EventType.vitals, None, None, data)]


def test_voice_clip_event() -> None:
    assert events_for(message_of(VOICE)) == [
        IncomingEvent(EventType.media, None, None, {"format": "amr", "size": len(VOICE_AUDIO)})
    ]


@pytest.mark.parametrize("raw", [TKQ, TKQ2, INIT, TK_ACK, HEART_ZERO, frame(b"CONFIG,1"), frame(b"UD,1,2")])
def test_chatter_and_unreadable_messages_give_no_events(raw: bytes) -> None:
    assert events_for(message_of(raw)) == []


# ---------------------------------------------------------------------------------------------------------
# Replies
# ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reply"),
    [
        (LK_STEPS, b"[3G*8800000015*0002*LK]"),
        (LK_BARE, b"[SG*8800000015*0002*LK]"),
        (LK_ZJ, b"[ZJ*014111001350304*0038*0002*LK]"),
        (AL_SOS, b"[SG*8800000015*0002*AL]"),
        (ALCUSTOMER1, b"[3G*358839237678820*0002*AL]"),
        (AL_GARBAGE, b"[3G*8800000015*0002*AL]"),
        (TKQ, b"[3G*8800000015*0003*TKQ]"),
        (TKQ2, b"[3G*8800000015*0004*TKQ2]"),
        (INIT, b"[3G*8800000015*0006*INIT,1]"),
        (PULSE, b"[CS*8800000015*0005*PULSE]"),
        (HEART, b"[3G*6005412902*0005*heart]"),
        (HEART_ZERO, b"[3G*6005412902*0005*heart]"),
        (BPHRT, b"[3G*4700609403*0005*bphrt]"),
        (BLOOD_ZJ, b"[ZJ*357653059860416*0007*0005*BLOOD]"),
        (OXYGEN, b"[3G*8800000015*0006*oxygen]"),
        (TEMP, b"[3G*8800000015*0004*TEMP]"),
        (BTEMP2, b"[3G*2104326058*0006*btemp2]"),
        (VOICE, b"[CS*1234567890*0004*TK,1]"),
        (UD_FIX, None),
        (UD_LTE, None),
        (WT, None),
        (TK_ACK, None),
        (frame(b"CONFIG,1"), None),
    ],
)
def test_replies_are_byte_exact(raw: bytes, reply: bytes | None) -> None:
    received = frame_of(raw)
    assert reply_for(received, parse_message(received)) == reply


# ---------------------------------------------------------------------------------------------------------
# Downlink commands
# ---------------------------------------------------------------------------------------------------------


def test_command_names() -> None:
    assert COMMANDS == (
        "locate",
        "upload_interval",
        "sos_numbers",
        "reminder",
        "message",
        "reset",
        "power_off",
    )


@pytest.mark.parametrize(
    ("command", "args", "content"),
    [
        ("locate", (), b"CR"),
        ("upload_interval", ("60",), b"UPLOAD,60"),
        ("upload_interval", ("10",), b"UPLOAD,10"),
        ("upload_interval", ("086400",), b"UPLOAD,86400"),
        ("sos_numbers", ("+8613800138000",), b"SOS,+8613800138000,,"),
        ("sos_numbers", ("12349", "13800138000", "+33612345678"), b"SOS,12349,13800138000,+33612345678"),
        ("reminder", ("08:10-1-1",), b"REMIND,08:10-1-1,,"),
        (
            "reminder",
            ("08:10-1-1", "12:00-0-2", "23:59-1-3-0111110"),
            b"REMIND,08:10-1-1,12:00-0-2,23:59-1-3-0111110",
        ),
        ("message", ("Hi",), b"MESSAGE,00480069"),
        ("message", ("你好",), b"MESSAGE,4F60597D"),
        ("message", ("a,b*[c]",), b"MESSAGE,0061002C0062002A005B0063005D"),
        ("reset", (), b"RESET"),
        ("power_off", (), b"POWEROFF"),
    ],
)
def test_encode_command(command: str, args: tuple[str, ...], content: bytes) -> None:
    assert encode_command(command, *args) == content


@pytest.mark.parametrize(
    ("command", "args"),
    [
        ("reboot", ()),
        ("CR", ()),
        ("locate", ("1",)),
        ("reset", ("now",)),
        ("power_off", ("1",)),
        ("upload_interval", ()),
        ("upload_interval", ("9",)),
        ("upload_interval", ("86401",)),
        ("upload_interval", ("abc",)),
        ("upload_interval", ("",)),
        ("upload_interval", ("-60",)),
        ("upload_interval", ("60", "70")),
        ("upload_interval", ("٦٠",)),  # Arabic-Indic digits
        ("sos_numbers", ()),
        ("sos_numbers", ("1", "2", "3", "4")),
        ("sos_numbers", ("138-0013",)),
        ("sos_numbers", ("",)),
        ("sos_numbers", ("1+2",)),
        ("sos_numbers", ("123,456",)),
        ("reminder", ()),
        ("reminder", ("25:00-1-1",)),
        ("reminder", ("08:60-1-1",)),
        ("reminder", ("08:10-2-1",)),
        ("reminder", ("08:10-1-4",)),
        ("reminder", ("08:10",)),
        ("reminder", ("08:10-1-1",) * 4),
        ("message", ()),
        ("message", ("",)),
        ("message", ("x" * 101,)),
        ("message", ("a", "b")),
        ("message", ("\ud800",)),
    ],
)
def test_encode_command_refuses_unknown_commands_and_bad_arguments(
    command: str, args: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match=r"."):
        encode_command(command, *args)


def test_a_hundred_character_message_is_accepted() -> None:
    content = encode_command("message", "é" * 100)
    assert content == b"MESSAGE," + b"00E9" * 100


def test_commands_framed_for_a_device_decode_back() -> None:
    raw = encode_frame("ZJ", "014111001350304", "0038", encode_command("sos_numbers", "12349"))
    assert raw == b"[ZJ*014111001350304*0038*000B*SOS,12349,,]"
    assert frame_of(raw) == Frame("ZJ", "014111001350304", "0038", "SOS", b"12349,,", raw)
    assert encode_frame("3G", "8800000015", None, encode_command("locate")) == b"[3G*8800000015*0002*CR]"


# ---------------------------------------------------------------------------------------------------------
# Properties: nothing the network sends can crash the codec or grow its buffer
# ---------------------------------------------------------------------------------------------------------

PROTOCOL_PIECES = [
    b"[", b"]", b"*", b",", b"}", b"\x01", b"\x04", b"\r\n", b" ", b"3G", b"ZJ", b"8800000015",
    b"014111001350304", b"0002", b"0038", b"LK", b"UD", b"AL", b"TK", b"heart", b"bphrt", b"A", b"V",
    b"N", b"S", b"-", b"22.5", b"220414", b"00010001", b"9", b"\xff", b"x",
]  # fmt: skip

protocol_soup = st.lists(st.sampled_from(PROTOCOL_PIECES), max_size=200).map(b"".join)


def check_every_layer(data: bytes, chunks: list[int]) -> None:
    """Feed `data` in the given read sizes and push every frame through every layer."""
    decoder = FrameDecoder()
    position = 0
    for size in [*chunks, len(data)]:
        decoder.feed(data[position : position + size])
        position += size
        for event in drain(decoder):
            if isinstance(event, Rejected):
                assert len(event.data) <= 256
                assert event.reason
                continue
            assert event.raw.startswith(b"[")
            assert event.raw.endswith(b"]")
            check_frame(event)
        assert decoder.buffered < MAX_FRAME_BYTES
        if position >= len(data):
            break


def check_frame(frame_: Frame) -> None:
    """parse_message, events_for and reply_for accept any decoded frame and keep their promises."""
    message = parse_message(frame_)
    events = events_for(message)
    assert all(isinstance(event, IncomingEvent) for event in events)
    if frame_.msg_type.upper().startswith("AL"):
        assert isinstance(message, AlarmMessage)
        assert events
        assert all(event.type in ALARM_TYPES for event in events)
    reply = reply_for(frame_, message)
    if reply is not None:
        [echoed] = decode(reply)
        assert isinstance(echoed, Frame)
        assert (echoed.manufacturer, echoed.device_id, echoed.index) == (
            frame_.manufacturer,
            frame_.device_id,
            frame_.index,
        )


@settings(max_examples=200, deadline=None)
@given(
    st.binary(max_size=3000) | protocol_soup, st.lists(st.integers(min_value=1, max_value=512), max_size=40)
)
def test_arbitrary_bytes_in_arbitrary_chunks_never_raise(data: bytes, chunks: list[int]) -> None:
    check_every_layer(data, chunks)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=1, max_size=64), st.integers(min_value=1, max_value=8192))
def test_a_stream_that_never_closes_its_frame_stays_bounded(filler: bytes, chunk: int) -> None:
    decoder = FrameDecoder()
    body = (filler.replace(b"[", b"").replace(b"]", b"") or b"a") * (3 * MAX_FRAME_BYTES // len(filler) + 1)
    data = b"[" + body
    fatal = 0
    for start in range(0, len(data), chunk):
        decoder.feed(data[start : start + chunk])
        fatal += sum(1 for event in drain(decoder) if isinstance(event, Rejected) and event.fatal)
        assert decoder.buffered < MAX_FRAME_BYTES
    assert fatal == 1


VALID_FRAMES = CAPTURED
INTERESTING_BYTES = list(b"[]*,}0123456789ABCDEFNSEWAV-.:\x01\x02\x03\x04\x05\x00\xff ")


@st.composite
def mutated_frames(draw: st.DrawFn) -> bytes:
    """A captured frame (or two) with random byte replacements, insertions and deletions."""
    data = bytearray(b"".join(draw(st.lists(st.sampled_from(VALID_FRAMES), min_size=1, max_size=2))))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        operation = draw(st.sampled_from(["flip", "replace", "insert", "delete"]))
        position = draw(st.integers(min_value=0, max_value=max(len(data) - 1, 0)))
        byte = draw(st.sampled_from(INTERESTING_BYTES) | st.integers(min_value=0, max_value=255))
        if operation == "insert" or not data:
            data.insert(position, byte)
        elif operation == "flip":
            data[position] ^= 1 << draw(st.integers(min_value=0, max_value=7))
        elif operation == "replace":
            data[position] = byte
        else:
            del data[position]
    return bytes(data)


@settings(max_examples=200, deadline=None)
@given(mutated_frames(), st.lists(st.integers(min_value=1, max_value=64), max_size=20))
def test_mutated_frames_never_raise_in_any_layer(data: bytes, chunks: list[int]) -> None:
    check_every_layer(data, chunks)


@settings(max_examples=200, deadline=None)
@given(
    st.floats(min_value=0, max_value=90, allow_nan=False),
    st.floats(min_value=0, max_value=180, allow_nan=False),
    st.sampled_from(["N", "S", ""]),
    st.sampled_from(["E", "W", ""]),
)
def test_hemisphere_letters_set_the_sign_of_unsigned_coordinates(
    lat: float, lon: float, north_south: str, east_west: str
) -> None:
    block = position_block(lat=f"{lat:.6f},{north_south}", lon=f"{lon:.6f},{east_west}")
    report = report_of(frame(b"UD," + block))
    assert report.lat == pytest.approx(round(lat, 6) * (-1 if north_south == "S" else 1))
    assert report.lon == pytest.approx(round(lon, 6) * (-1 if east_west == "W" else 1))
    assert report.fixed is True
