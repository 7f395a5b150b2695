"""API bodies of the phone / app gateway and of the device-event list."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from dispatch.catalog import ServiceType
from dispatch.ingest.events import EventType
from dispatch.schemas import Latitude, Longitude

PHONE_EVENT_TYPES = tuple(t for t in EventType if t not in (EventType.silent, EventType.media))


class PositionIn(BaseModel):
    lon: Longitude
    lat: Latitude
    fixed: bool = True
    accuracy_m: Annotated[float, Field(ge=0, le=100_000)] | None = None


class VitalsIn(BaseModel):
    heart_rate: Annotated[int, Field(ge=20, le=250)] | None = None
    systolic: Annotated[int, Field(ge=40, le=300)] | None = None
    diastolic: Annotated[int, Field(ge=20, le=200)] | None = None
    spo2: Annotated[int, Field(ge=50, le=100)] | None = None
    temperature: Annotated[float, Field(ge=30, le=45)] | None = None

    @model_validator(mode="after")
    def _something_measured(self) -> VitalsIn:
        if all(value is None for value in self.model_dump().values()):
            raise ValueError("vitals need at least one measurement")
        if (self.systolic is None) != (self.diastolic is None):
            raise ValueError("blood pressure needs both systolic and diastolic")
        return self


class ServiceRequestIn(BaseModel):
    """A home service the elder asks for in the app: what, and when (becomes a service order)."""

    service_type: ServiceType
    window_start: AwareDatetime
    window_end: AwareDatetime
    notes: Annotated[str, Field(max_length=500)] = ""

    @model_validator(mode="after")
    def _a_home_service_in_a_window(self) -> ServiceRequestIn:
        if self.service_type == ServiceType.emergency_rescue:
            raise ValueError("emergencies are raised with an sos event, not a service request")
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        return self


class PhoneEventIn(BaseModel):
    """One event from an elder's phone or app (SOS button, fall detection, position, vitals)."""

    event_type: EventType = Field(description=f"one of {', '.join(t.value for t in PHONE_EVENT_TYPES)}")
    time: AwareDatetime = Field(description="when it happened on the device, ISO 8601 with offset")
    idempotency_key: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
    position: PositionIn | None = None
    vitals: VitalsIn | None = None
    service_request: ServiceRequestIn | None = None
    battery: Annotated[int, Field(ge=0, le=100)] | None = None
    firmware: Annotated[str, Field(max_length=64)] | None = Field(
        default=None, description="app / OS version"
    )

    @model_validator(mode="after")
    def _type_and_content_agree(self) -> PhoneEventIn:
        if self.event_type not in PHONE_EVENT_TYPES:
            raise ValueError(f"{self.event_type.value} events are not sent by devices")
        if self.event_type is EventType.vitals and self.vitals is None:
            raise ValueError("a vitals event needs vitals")
        if self.event_type is EventType.position and self.position is None:
            raise ValueError("a position event needs a position")
        if (self.event_type is EventType.service_request) != (self.service_request is not None):
            raise ValueError("service_request goes with (and only with) a service_request event")
        return self


class PhoneEventAccepted(BaseModel):
    event_ids: list[int]
    duplicate: bool
    clock_skew_s: int | None = Field(
        default=None,
        description="set when X-Timestamp was outside the replay window (an alarm taken anyway): "
        "seconds the device's clock is ahead (negative: behind)",
    )


class EventPosition(BaseModel):
    lon: float | None
    lat: float | None
    fixed: bool


class DeviceEventRead(BaseModel):
    id: int
    imei: str
    elder_id: int
    type: EventType
    device_time: datetime | None
    received_at: datetime
    position: EventPosition | None
    data: dict[str, Any]


class ParkedEventRead(BaseModel):
    """An event the alarm rules gave up on: what it was and why it failed (no position, no data)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    elder_id: int
    type: EventType
    received_at: datetime
    rule_attempts: int
    parked_at: datetime | None
    park_reason: str | None
