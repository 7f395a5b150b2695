"""Sans-IO codec of the watch protocol: no sockets, no clock, no database.

    bytes --FrameDecoder.feed/next_event--> Frame | Rejected
    Frame --parse_message--> Message --events_for--> [IncomingEvent]
                                     --reply_for---> acknowledgement bytes | None
    encode_command(...) --encode_frame(...)--> downlink bytes

A frame is ``[MFR*ID*LEN*CONTENT]``, or ``[MFR*ID*IDX*LEN*CONTENT]`` on ZJ firmwares, and CONTENT is
``TYPE`` or ``TYPE,ARGS``. Inside a frame ``0x7D`` followed by ``0x01``..``0x05`` stands for ``}`` ``[``
``]`` ``,`` ``*``, so binary payloads (voice clips) never carry a raw bracket.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, TypeAlias

from dispatch.ingest.events import EventType, IncomingEvent, Position

__all__ = [
    "COMMANDS",
    "MAX_FRAME_BYTES",
    "AlarmMessage",
    "BloodPressure",
    "CellTower",
    "Frame",
    "FrameDecoder",
    "HeartRate",
    "Heartbeat",
    "Init",
    "LinkCheck",
    "Malformed",
    "Message",
    "PositionMessage",
    "PositionReport",
    "Rejected",
    "SpO2",
    "Temperature",
    "Unknown",
    "VoiceClip",
    "WifiAccessPoint",
    "encode_command",
    "encode_frame",
    "events_for",
    "parse_message",
    "reply_for",
    "status_alarms",
]

MAX_FRAME_BYTES: Final = 32 * 1024
_REJECTED_DATA_BYTES: Final = 256
_MAX_CONTENT_BYTES: Final = 0xFFFF

# ---------------------------------------------------------------------------------------------------------
# Frame layer
# ---------------------------------------------------------------------------------------------------------

_OPEN: Final = ord("[")
_WHITESPACE: Final = re.compile(rb"[ \t\r\n]+")
_BRACKET: Final = re.compile(rb"[\[\]]")
# The ZJ index is only recognised when a second 4-hex-digit field (the length) follows it.
_HEADER: Final = re.compile(
    rb"(?P<mfr>[^*]*)\*(?P<id>[^*]*)\*"
    rb"(?:(?P<idx>[0-9A-Fa-f]{4})\*(?=[0-9A-Fa-f]{4}\*))?"
    rb"(?P<len>[^*]*)\*(?P<content>.*)",
    re.DOTALL,
)
_HEADER_FIELDS: Final = (
    ("manufacturer", "mfr", re.compile(rb"[A-Za-z0-9]{2}")),
    ("device id", "id", re.compile(rb"[0-9]{10}|[0-9]{15}")),
    ("length", "len", re.compile(rb"[0-9A-Fa-f]{4}")),
)
_MSG_TYPE: Final = re.compile(rb"[A-Za-z0-9_]{1,32}")
_ESCAPE: Final = re.compile(rb"\}[\x01-\x05]")
_UNESCAPED: Final = {1: b"}", 2: b"[", 3: b"]", 4: b",", 5: b"*"}


@dataclass(frozen=True, slots=True)
class Frame:
    """One complete frame; `payload` is the content after ``TYPE,`` with the 0x7D escapes undone."""

    manufacturer: str
    device_id: str
    index: str | None
    msg_type: str
    payload: bytes
    raw: bytes


@dataclass(frozen=True, slots=True)
class Rejected:
    """Bytes that are not a frame; `fatal` means the stream cannot resynchronise and should be closed."""

    reason: str
    data: bytes
    fatal: bool


class FrameDecoder:
    """Buffer for one connection; feed bytes, then call next_event() until it returns None."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        # How far past the opening '[' the buffer is known to hold no bracket, so a frame arriving
        # byte by byte is scanned once rather than once per byte.
        self._scanned = 1

    @property
    def buffered(self) -> int:
        """Bytes held while waiting for the rest of a frame (below MAX_FRAME_BYTES between reads)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> None:
        """Append bytes received from the connection."""
        self._buffer += data

    def next_event(self) -> Frame | Rejected | None:
        """The next frame or rejection, or None when more data is needed."""
        whitespace = _WHITESPACE.match(self._buffer)
        if whitespace is not None:
            self._drop(whitespace.end())
        if not self._buffer:
            return None
        if self._buffer[0] != _OPEN:
            return self._reject_junk()
        return self._take_frame()

    def _drop(self, count: int) -> None:
        """Forget the first `count` bytes."""
        del self._buffer[:count]
        self._scanned = 1

    def _reject_junk(self) -> Rejected:
        """Drop everything before the next '[' (all of it if there is none yet), reported as one rejection."""
        start = self._buffer.find(b"[")
        end = len(self._buffer) if start < 0 else start
        rejected = _rejected("junk before frame", self._buffer[:end])
        self._drop(end)
        return rejected

    def _take_frame(self) -> Frame | Rejected | None:
        """The frame at the head of the buffer, brackets included and at most MAX_FRAME_BYTES long."""
        limit = min(len(self._buffer), MAX_FRAME_BYTES)
        bracket = _BRACKET.search(self._buffer, self._scanned, limit)
        if bracket is None:
            if len(self._buffer) >= MAX_FRAME_BYTES:
                rejected = Rejected("oversized frame", bytes(self._buffer[:_REJECTED_DATA_BYTES]), fatal=True)
                self._drop(len(self._buffer))
                return rejected
            self._scanned = max(len(self._buffer), 1)
            return None
        end = bracket.start()
        if self._buffer[end] == _OPEN:
            rejected = _rejected("truncated frame", self._buffer[:end])
            self._drop(end)
            return rejected
        raw = bytes(self._buffer[: end + 1])
        self._drop(end + 1)
        return _decode_frame(raw)


def _rejected(reason: str, data: bytes | bytearray) -> Rejected:
    """A non-fatal rejection carrying the start of the offending bytes."""
    return Rejected(reason, bytes(data[:_REJECTED_DATA_BYTES]), fatal=False)


def _decode_frame(raw: bytes) -> Frame | Rejected:
    """Split one bracketed frame into its header fields, type and unescaped payload."""
    header = _HEADER.fullmatch(raw, 1, len(raw) - 1)
    if header is None:
        return _rejected("bad header: missing fields", raw)
    for name, group, pattern in _HEADER_FIELDS:
        if pattern.fullmatch(header[group]) is None:
            return _rejected(f"bad header: {name}", raw)
    msg_type, _, payload = header["content"].partition(b",")
    if _MSG_TYPE.fullmatch(msg_type) is None:
        return _rejected("bad message type", raw)
    index: bytes | None = header["idx"]
    return Frame(
        manufacturer=header["mfr"].decode("ascii"),
        device_id=header["id"].decode("ascii"),
        index=None if index is None else index.decode("ascii"),
        msg_type=msg_type.decode("ascii"),
        payload=_unescape(payload),
        raw=raw,
    )


def _unescape(data: bytes) -> bytes:
    """Undo the 0x7D escapes; a 0x7D followed by anything else is kept as it is."""
    if b"}" not in data:
        return data
    return _ESCAPE.sub(lambda match: _UNESCAPED[match.group()[1]], data)


def _escape(content: bytes) -> bytes:
    """Escape the bytes that would break framing ('}' first, so its own escape is not escaped again)."""
    return content.replace(b"}", b"}\x01").replace(b"[", b"}\x02").replace(b"]", b"}\x03")


def encode_frame(manufacturer: str, device_id: str, index: str | None, content: bytes) -> bytes:
    """Build ``[MFR*ID*(IDX*)LLLL*CONTENT]`` with ``}`` ``[`` ``]`` escaped in the content.

    ``,`` and ``*`` are left alone: ASCII content uses them as separators. Only binary payloads made by
    devices use the 0x7D 0x04 / 0x05 escapes, and FrameDecoder undoes those.
    """
    if re.fullmatch(r"[A-Za-z0-9]{2}", manufacturer) is None:
        raise ValueError("manufacturer must be two ASCII letters or digits")
    if re.fullmatch(r"[0-9]{10}|[0-9]{15}", device_id) is None:
        raise ValueError("device id must be 10 or 15 digits")
    if index is not None and re.fullmatch(r"[0-9A-Fa-f]{4}", index) is None:
        raise ValueError("index must be 4 hex digits")
    escaped = _escape(content)
    if len(escaped) > _MAX_CONTENT_BYTES:
        raise ValueError("content longer than 65535 bytes once escaped")
    fields = [manufacturer, device_id, *([] if index is None else [index]), f"{len(escaped):04X}"]
    return b"[" + "*".join(fields).encode("ascii") + b"*" + escaped + b"]"


# ---------------------------------------------------------------------------------------------------------
# Messages
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CellTower:
    """A GSM/LTE cell the device saw; rssi is None when the firmware left it empty."""

    mcc: int
    mnc: int
    lac: int
    cid: int
    rssi: int | None


@dataclass(frozen=True, slots=True)
class WifiAccessPoint:
    """A Wi-Fi access point the device saw."""

    name: str
    mac: str
    rssi: int


@dataclass(frozen=True, slots=True)
class PositionReport:
    """The position block shared by UD*, WT and AL* messages; lat/lon are None when unusable."""

    device_time: datetime | None
    fixed: bool
    lat: float | None
    lon: float | None
    speed_kmh: float
    course: float
    altitude_m: float
    satellites: int
    gsm_signal: int
    battery: int
    steps: int
    rolls: int
    status: int
    cells: tuple[CellTower, ...]
    wifis: tuple[WifiAccessPoint, ...]


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """LK: the device is alive; battery in percent."""

    steps: int | None
    rolls: int | None
    battery: int | None


@dataclass(frozen=True, slots=True)
class PositionMessage:
    """UD, UD2, UD3, UD_LTE, UD_WCDMA, WT: a periodic position report."""

    kind: str
    report: PositionReport


@dataclass(frozen=True, slots=True)
class AlarmMessage:
    """AL*: an alarm, even when its position block is unreadable (report None, error says why)."""

    kind: str
    report: PositionReport | None
    error: str | None


@dataclass(frozen=True, slots=True)
class HeartRate:
    """PULSE / heart: beats per minute."""

    bpm: int


@dataclass(frozen=True, slots=True)
class BloodPressure:
    """BLOOD / bphrt: mmHg, with the heart rate when the device measured it too."""

    systolic: int
    diastolic: int
    heart_rate: int | None


@dataclass(frozen=True, slots=True)
class SpO2:
    """oxygen: blood oxygen saturation in percent."""

    percent: int


@dataclass(frozen=True, slots=True)
class Temperature:
    """TEMP / btemp2: body temperature in degrees Celsius."""

    celsius: float


@dataclass(frozen=True, slots=True)
class LinkCheck:
    """TKQ / TKQ2: the device asks whether the voice channel is up."""

    kind: str


@dataclass(frozen=True, slots=True)
class Init:
    """INIT: the device starts a session."""


@dataclass(frozen=True, slots=True)
class VoiceClip:
    """TK: an AMR voice clip recorded on the device."""

    audio: bytes


@dataclass(frozen=True, slots=True)
class Unknown:
    """A message type this codec does not decode."""

    msg_type: str


@dataclass(frozen=True, slots=True)
class Malformed:
    """A known message type whose arguments cannot be parsed; `reason` carries no measured values."""

    msg_type: str
    reason: str


Message: TypeAlias = (
    Heartbeat
    | PositionMessage
    | AlarmMessage
    | HeartRate
    | BloodPressure
    | SpO2
    | Temperature
    | LinkCheck
    | Init
    | VoiceClip
    | Unknown
    | Malformed
)


class _Invalid(Exception):
    """An argument that cannot be parsed; it becomes a Malformed message or an alarm's error."""


_INT: Final = re.compile(r"[+-]?[0-9]{1,18}")
_FLOAT: Final = re.compile(r"[+-]?(?:[0-9]{1,15}(?:\.[0-9]{0,15})?|\.[0-9]{1,15})")
_HEX: Final = re.compile(r"[0-9A-Fa-f]{1,8}")
_SIX_DIGITS: Final = re.compile(r"[0-9]{6}")
_REPORT_FIELDS: Final = 16


def _args(frame: Frame) -> list[str]:
    """The comma-separated arguments of a text message."""
    return frame.payload.decode("utf-8", "replace").split(",") if frame.payload else []


def _at(fields: list[str], index: int) -> str | None:
    """The field at `index`, or None past the end."""
    return fields[index] if index < len(fields) else None


def _to_int(text: str | None) -> int | None:
    """A decimal integer (bounded in length, so int() cannot blow up), or None."""
    if text is None or _INT.fullmatch(text := text.strip()) is None:
        return None
    return int(text)


def _to_float(text: str | None) -> float | None:
    """A plain decimal number (no exponent, nan or inf), or None."""
    if text is None or _FLOAT.fullmatch(text := text.strip()) is None:
        return None
    return float(text)


def _require_int(text: str | None, name: str, low: int | None = None, high: int | None = None) -> int:
    """An integer within [low, high], or _Invalid."""
    value = _to_int(text)
    if value is None:
        raise _Invalid(f"{name} is not an integer")
    _check_range(value, name, low, high)
    return value


def _require_float(text: str | None, name: str, low: float | None = None, high: float | None = None) -> float:
    """A number within [low, high], or _Invalid."""
    value = _to_float(text)
    if value is None:
        raise _Invalid(f"{name} is not a number")
    _check_range(value, name, low, high)
    return value


def _check_range(value: float, name: str, low: float | None, high: float | None) -> None:
    """Raise _Invalid when a value is outside its plausible range (the value itself is not logged)."""
    if (low is not None and value < low) or (high is not None and value > high):
        raise _Invalid(f"{name} outside {low}..{high}")


def _heartbeat(frame: Frame) -> Message:
    """LK[,steps,rolls,battery]: fields that do not parse are None, a heartbeat stays a heartbeat."""
    args = _args(frame)
    steps, rolls, battery = (_to_int(_at(args, i)) for i in range(3))
    return Heartbeat(
        steps=steps if steps is not None and steps >= 0 else None,
        rolls=rolls if rolls is not None and rolls >= 0 else None,
        battery=battery if battery is not None and 0 <= battery <= 100 else None,
    )


def _heart_rate(frame: Frame) -> Message:
    """PULSE,72 / heart,85."""
    return HeartRate(_require_int(_at(_args(frame), 0), "heart rate", 20, 250))


def _blood_pressure(frame: Frame) -> Message:
    """BLOOD,sys,dia / bphrt,sys,dia,hr[,...]; an empty or 0 heart rate means not measured."""
    args = _args(frame)
    systolic = _require_int(_at(args, 0), "systolic", 40, 300)
    diastolic = _require_int(_at(args, 1), "diastolic", 20, 200)
    pulse = _at(args, 2)
    if pulse is None or pulse.strip() in ("", "0"):
        return BloodPressure(systolic, diastolic, None)
    return BloodPressure(systolic, diastolic, _require_int(pulse, "heart rate", 20, 250))


def _spo2(frame: Frame) -> Message:
    """oxygen,98[,...]."""
    return SpO2(_require_int(_at(_args(frame), 0), "SpO2", 50, 100))


def _temperature(frame: Frame) -> Message:
    """TEMP,36.5."""
    return Temperature(_require_float(_at(_args(frame), 0), "temperature", 30.0, 45.0))


def _btemp2(frame: Frame) -> Message:
    """btemp2,flag,36.5: the first value is a flag or count, the temperature is the second."""
    args = _args(frame)
    _require_int(_at(args, 0), "temperature flag")
    return Temperature(_require_float(_at(args, 1), "temperature", 30.0, 45.0))


def _link_check(frame: Frame) -> Message:
    """TKQ / TKQ2."""
    return LinkCheck(frame.msg_type)


def _init(frame: Frame) -> Message:
    """INIT."""
    return Init()


def _voice(frame: Frame) -> Message:
    """TK,<amr>; a one-byte payload is the device acknowledging our own TK."""
    return VoiceClip(frame.payload) if len(frame.payload) > 1 else Unknown(frame.msg_type)


def _position(frame: Frame) -> Message:
    """UD* / WT."""
    return PositionMessage(frame.msg_type, _report(_args(frame)))


def _alarm(frame: Frame) -> Message:
    """AL*: an unreadable position block still gives an alarm."""
    try:
        report = _report(_args(frame))
    except _Invalid as error:
        return AlarmMessage(frame.msg_type, None, str(error))
    return AlarmMessage(frame.msg_type, report, None)


_PARSERS: Final[Mapping[str, Callable[[Frame], Message]]] = {
    "LK": _heartbeat,
    "PULSE": _heart_rate,
    "HEART": _heart_rate,
    "BLOOD": _blood_pressure,
    "BPHRT": _blood_pressure,
    "OXYGEN": _spo2,
    "TEMP": _temperature,
    "BTEMP2": _btemp2,
    "TKQ": _link_check,
    "TKQ2": _link_check,
    "INIT": _init,
    "TK": _voice,
}
_HEALTH_TYPES: Final = frozenset({"PULSE", "HEART", "BLOOD", "BPHRT", "OXYGEN", "TEMP", "BTEMP2"})


def _parser_for(msg_type: str) -> Callable[[Frame], Message] | None:
    """The parser of a message type, compared case-insensitively."""
    kind = msg_type.upper()
    if kind in _PARSERS:
        return _PARSERS[kind]
    if kind.startswith("AL"):
        return _alarm
    if kind.startswith("UD") or kind == "WT":
        return _position
    return None


def parse_message(frame: Frame) -> Message:
    """Decode a frame's content; never raises (bad arguments give Malformed)."""
    parser = _parser_for(frame.msg_type)
    if parser is None:
        return Unknown(frame.msg_type)
    try:
        return parser(frame)
    except _Invalid as error:
        return Malformed(frame.msg_type, str(error))


# ---------------------------------------------------------------------------------------------------------
# The position block
# ---------------------------------------------------------------------------------------------------------


def _report(fields: list[str]) -> PositionReport:
    """ddmmyy,hhmmss,A|V,lat,N|S,lon,E|W,speed,course,alt,sats,rssi,battery,steps,rolls,status,network..."""
    if len(fields) < _REPORT_FIELDS:
        raise _Invalid(f"position block has {len(fields)} fields, expected at least {_REPORT_FIELDS}")
    lat, lon, fixed = _place(fields[2:7])
    cells, wifis = _network(fields[_REPORT_FIELDS:])
    return PositionReport(
        device_time=_utc(fields[0], fields[1]),
        fixed=fixed,
        lat=lat,
        lon=lon,
        speed_kmh=_require_float(fields[7], "speed"),
        course=_require_float(fields[8], "course"),
        altitude_m=_require_float(fields[9], "altitude"),
        satellites=_require_int(fields[10], "satellites"),
        gsm_signal=_require_int(fields[11], "gsm signal"),
        battery=_require_int(fields[12], "battery"),
        steps=_require_int(fields[13], "steps"),
        rolls=_require_int(fields[14], "rolls"),
        status=_require_hex(fields[15], "status"),
        cells=cells,
        wifis=wifis,
    )


def _utc(date: str, time: str) -> datetime | None:
    """ddmmyy + hhmmss, which the firmwares send in UTC; None when not a real date."""
    date, time = date.strip(), time.strip()
    if _SIX_DIGITS.fullmatch(date) is None or _SIX_DIGITS.fullmatch(time) is None:
        return None
    day, month, year = int(date[0:2]), int(date[2:4]), 2000 + int(date[4:6])
    try:
        return datetime(year, month, day, int(time[0:2]), int(time[2:4]), int(time[4:6]), tzinfo=UTC)
    except ValueError:
        return None


def _require_hex(text: str, name: str) -> int:
    """Up to 8 hex digits, or _Invalid."""
    text = text.strip()
    if _HEX.fullmatch(text) is None:
        raise _Invalid(f"{name} is not hexadecimal")
    return int(text, 16)


def _place(fields: list[str]) -> tuple[float | None, float | None, bool]:
    """lat, lon and fixed from ``A|V,lat,N|S,lon,E|W``; an unusable position is (None, None, False)."""
    validity = fields[0].strip().upper()
    if validity not in ("A", "V"):
        raise _Invalid("validity is neither A nor V")
    lat = _coordinate(fields[1], fields[2], "latitude", ("N", "S"), 90.0)
    lon = _coordinate(fields[3], fields[4], "longitude", ("E", "W"), 180.0)
    fixed = validity == "A"
    if lat is None or lon is None or (not fixed and lat == 0.0 and lon == 0.0):
        return None, None, False
    return lat, lon, fixed


def _coordinate(
    text: str, hemisphere: str, name: str, letters: tuple[str, str], limit: float
) -> float | None:
    """Signed degrees; S/W negate an unsigned value, an empty letter leaves the sign to the number."""
    value = _require_float(text, name)
    letter = hemisphere.strip().upper()
    if letter not in ("", *letters):
        raise _Invalid(f"{name} hemisphere is not {letters[0]} or {letters[1]}")
    if letter == letters[1] and value > 0:
        value = -value
    return value if -limit <= value <= limit else None


def _network(fields: list[str]) -> tuple[tuple[CellTower, ...], tuple[WifiAccessPoint, ...]]:
    """``cellCount,ta,mcc,mnc,(lac,cid,rssi)*,wifiCount,(name,mac,rssi)*``; garbage ends a list early."""
    count = _to_int(_at(fields, 0))
    if count is None or count < 0:
        return (), ()
    if count == 0:
        # Firmwares disagree on whether a timing advance follows an empty cell list: keep the reading
        # that yields more access points.
        return (), max(_wifis(fields[2:]), _wifis(fields[1:]), key=len)
    cells, end = _cells(fields, count)
    return cells, (() if end is None else _wifis(fields[end:]))


def _cells(fields: list[str], count: int) -> tuple[tuple[CellTower, ...], int | None]:
    """The cells, and where the Wi-Fi list starts (None when the cell list was cut short)."""
    mcc = _to_int(_at(fields, 2) or "0")
    mnc = _to_int(_at(fields, 3) or "0")
    if mcc is None or mnc is None:
        return (), None
    cells: list[CellTower] = []
    end = 4 + 3 * count
    for start in range(4, end, 3):
        cell = _cell(mcc, mnc, fields[start : start + 3])
        if cell is None:
            return tuple(cells), None
        cells.append(cell)
    return tuple(cells), end


def _cell(mcc: int, mnc: int, parts: list[str]) -> CellTower | None:
    """One ``lac,cid,rssi`` triple (rssi may be empty), or None."""
    if len(parts) < 3:
        return None
    lac, cid, rssi = (_to_int(part) for part in parts)
    if lac is None or cid is None or (rssi is None and parts[2].strip()):
        return None
    return CellTower(mcc=mcc, mnc=mnc, lac=lac, cid=cid, rssi=rssi)


def _wifis(fields: list[str]) -> tuple[WifiAccessPoint, ...]:
    """``wifiCount,(name,mac,rssi)*``, up to the first unreadable entry."""
    count = _to_int(_at(fields, 0))
    wifis: list[WifiAccessPoint] = []
    for start in range(1, 1 + 3 * max(count or 0, 0), 3):
        wifi = _wifi(fields[start : start + 3])
        if wifi is None:
            break
        wifis.append(wifi)
    return tuple(wifis)


def _wifi(parts: list[str]) -> WifiAccessPoint | None:
    """One ``name,mac,rssi`` triple, or None."""
    if len(parts) < 3 or not parts[1].strip():
        return None
    rssi = _to_int(parts[2])
    if rssi is None:
        return None
    return WifiAccessPoint(name=parts[0], mac=parts[1].strip(), rssi=rssi)


# ---------------------------------------------------------------------------------------------------------
# Events and replies
# ---------------------------------------------------------------------------------------------------------

_STATUS_ALARMS: Final = (
    (EventType.sos, 1 << 16),
    (EventType.fall, 1 << 21 | 1 << 22),
    (EventType.removed, 1 << 20),
    (EventType.low_battery, 1 << 0 | 1 << 17),
    (EventType.geofence_exit, 1 << 1 | 1 << 18),
    (EventType.geofence_enter, 1 << 2 | 1 << 19),
    (EventType.power_cut, 1 << 14),
)


def status_alarms(status: int) -> list[EventType]:
    """Every alarm set in a STATUS word, most urgent first, each type at most once."""
    return [event_type for event_type, mask in _STATUS_ALARMS if status & mask]


def _position_of(report: PositionReport) -> Position:
    """The event position of a report (coordinates may be None)."""
    return Position(lon=report.lon, lat=report.lat, fixed=report.fixed)


def _report_data(report: PositionReport) -> dict[str, object]:
    """JSON-ready telemetry of a report; a fresh dict for every event."""
    return {
        "battery": report.battery,
        "steps": report.steps,
        "rolls": report.rolls,
        "speed_kmh": report.speed_kmh,
        "course": report.course,
        "altitude_m": report.altitude_m,
        "satellites": report.satellites,
        "gsm_signal": report.gsm_signal,
        "status": f"{report.status:08X}",
        "cells": [
            {"mcc": c.mcc, "mnc": c.mnc, "lac": c.lac, "cid": c.cid, "rssi": c.rssi} for c in report.cells
        ],
        "wifis": [{"name": w.name, "mac": w.mac, "rssi": w.rssi} for w in report.wifis],
    }


def _report_event(event_type: EventType, report: PositionReport, **extra: object) -> IncomingEvent:
    """One event carrying a report's time, position and telemetry."""
    data = _report_data(report) | extra
    return IncomingEvent(event_type, report.device_time, _position_of(report), data)


def _alarm_events(message: AlarmMessage) -> list[IncomingEvent]:
    """The status-bit alarms of an AL message, or one generic alarm."""
    if message.report is None:
        data = {"alarm_kind": message.kind, "position_error": message.error}
        return [IncomingEvent(EventType.alarm, None, None, data)]
    types = status_alarms(message.report.status) or [EventType.alarm]
    return [_report_event(t, message.report, alarm_kind=message.kind) for t in types]


def _vitals(**data: object) -> list[IncomingEvent]:
    """One vitals event (the device does not timestamp measurements)."""
    return [IncomingEvent(EventType.vitals, None, None, data)]


def events_for(message: Message) -> list[IncomingEvent]:
    """The normalised events of a message (none for session chatter and unreadable messages)."""
    match message:
        case Heartbeat(steps=steps, rolls=rolls, battery=battery):
            data = {
                k: v for k, v in (("steps", steps), ("rolls", rolls), ("battery", battery)) if v is not None
            }
            return [IncomingEvent(EventType.heartbeat, None, None, data)]
        case PositionMessage(report=report):
            alarms = [_report_event(t, report) for t in status_alarms(report.status)]
            return [*alarms, _report_event(EventType.position, report)]
        case AlarmMessage():
            return _alarm_events(message)
        case HeartRate(bpm=bpm):
            return _vitals(heart_rate=bpm)
        case BloodPressure(systolic=systolic, diastolic=diastolic, heart_rate=None):
            return _vitals(systolic=systolic, diastolic=diastolic)
        case BloodPressure(systolic=systolic, diastolic=diastolic, heart_rate=heart_rate):
            return _vitals(systolic=systolic, diastolic=diastolic, heart_rate=heart_rate)
        case SpO2(percent=percent):
            return _vitals(spo2=percent)
        case Temperature(celsius=celsius):
            return _vitals(temperature=celsius)
        case VoiceClip(audio=audio):
            return [IncomingEvent(EventType.media, None, None, {"format": "amr", "size": len(audio)})]
        case _:
            return []


def _reply_content(frame: Frame, message: Message) -> str | None:
    """What to acknowledge a frame with, before framing."""
    kind = frame.msg_type.upper()
    if kind == "LK":
        return "LK"
    if kind.startswith("AL"):
        return "AL"
    if kind in ("TKQ", "TKQ2") or kind in _HEALTH_TYPES:
        # Health firmwares resend a measurement until it is acknowledged with its own type.
        return frame.msg_type
    if kind == "INIT":
        return "INIT,1"
    if isinstance(message, VoiceClip):
        return "TK,1"
    return None


def reply_for(frame: Frame, message: Message) -> bytes | None:
    """The acknowledgement the device expects, echoing its header, or None."""
    content = _reply_content(frame, message)
    if content is None:
        return None
    return encode_frame(frame.manufacturer, frame.device_id, frame.index, content.encode("ascii"))


# ---------------------------------------------------------------------------------------------------------
# Downlink commands
# ---------------------------------------------------------------------------------------------------------

_PHONE: Final = re.compile(r"\+?[0-9]{1,20}")
# time-enabled-type; type 3 (custom days) may carry a Monday..Sunday mask.
_REMINDER: Final = re.compile(r"(?:[01][0-9]|2[0-3]):[0-5][0-9]-[01]-[1-3](?:-[01]{7})?")
_MAX_MESSAGE_CHARS: Final = 100

_Encoder: TypeAlias = Callable[[tuple[str, ...]], str]


def _arity(name: str, args: tuple[str, ...], low: int, high: int) -> None:
    """Raise ValueError unless low <= len(args) <= high."""
    if not low <= len(args) <= high:
        expected = str(low) if low == high else f"{low} to {high}"
        raise ValueError(f"{name} takes {expected} arguments, got {len(args)}")


def _fixed(name: str, content: str) -> _Encoder:
    """An encoder for a command without arguments."""

    def encode(args: tuple[str, ...]) -> str:
        _arity(name, args, 0, 0)
        return content

    return encode


def _upload_interval(args: tuple[str, ...]) -> str:
    """UPLOAD,<seconds between position reports>."""
    _arity("upload_interval", args, 1, 1)
    seconds = _to_int(args[0]) if args[0].isascii() and args[0].isdigit() else None
    if seconds is None or not 10 <= seconds <= 86400:
        raise ValueError("upload_interval must be 10..86400 seconds")
    return f"UPLOAD,{seconds}"


def _padded(args: tuple[str, ...], width: int) -> str:
    """Arguments joined by commas, padded with empty fields to `width`."""
    return ",".join([*args, *[""] * (width - len(args))])


def _sos_numbers(args: tuple[str, ...]) -> str:
    """SOS,<n1>,<n2>,<n3>."""
    _arity("sos_numbers", args, 1, 3)
    if any(_PHONE.fullmatch(number) is None for number in args):
        raise ValueError("sos_numbers takes phone numbers of digits with an optional leading +")
    return f"SOS,{_padded(args, 3)}"


def _reminder(args: tuple[str, ...]) -> str:
    """REMIND,<a>,<b>,<c> with each reminder as HH:MM-enabled-type."""
    _arity("reminder", args, 1, 3)
    if any(_REMINDER.fullmatch(reminder) is None for reminder in args):
        raise ValueError("reminder takes HH:MM-enabled(0|1)-type(1|2|3) arguments")
    return f"REMIND,{_padded(args, 3)}"


def _message(args: tuple[str, ...]) -> str:
    """MESSAGE,<UTF-16BE hex>: the watch shows the text on its screen."""
    _arity("message", args, 1, 1)
    text = args[0]
    if not 1 <= len(text) <= _MAX_MESSAGE_CHARS:
        raise ValueError(f"message must be 1..{_MAX_MESSAGE_CHARS} characters")
    try:
        encoded = text.encode("utf-16-be")
    except UnicodeEncodeError:
        raise ValueError("message is not valid unicode text") from None
    return f"MESSAGE,{encoded.hex().upper()}"


_COMMAND_ENCODERS: Final[Mapping[str, _Encoder]] = {
    "locate": _fixed("locate", "CR"),
    "upload_interval": _upload_interval,
    "sos_numbers": _sos_numbers,
    "reminder": _reminder,
    "message": _message,
    "reset": _fixed("reset", "RESET"),
    "power_off": _fixed("power_off", "POWEROFF"),
}
COMMANDS: Final[tuple[str, ...]] = tuple(_COMMAND_ENCODERS)


def encode_command(command: str, *args: str) -> bytes:
    """The CONTENT of a downlink command (wrap it with encode_frame); ValueError for bad input."""
    encoder = _COMMAND_ENCODERS.get(command)
    if encoder is None:
        raise ValueError(f"unknown command {command!r}")
    return encoder(args).encode("ascii")
