"""API bodies for elders, health records, contacts and devices."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from dispatch.elders.idcard import parse_id_number
from dispatch.elders.models import (
    AbilityLevel,
    BloodType,
    ContactKind,
    DeviceKind,
    DeviceStatus,
    ElderStatus,
    HukouType,
    Sex,
    SubsidyCategory,
)
from dispatch.localtime import parse_hours
from dispatch.schemas import GeoArea, LonLat, PartialUpdate, PhoneNumber, RowId

Name = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=200)]
LongText = Annotated[str, Field(max_length=4000)]


def _normalise_id_number(value: str) -> str:
    return parse_id_number(value)[0]


IdNumber = Annotated[str, AfterValidator(_normalise_id_number)]


class HouseholdMember(BaseModel):
    name: Name
    relation: Annotated[str, Field(max_length=32)]
    phone: PhoneNumber | None = None
    lives_with_elder: bool = False


class Medication(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    dosage: Annotated[str, Field(max_length=100)] = ""
    frequency: Annotated[str, Field(max_length=100)] = ""


class VitalsThresholds(BaseModel):
    """Limits outside which a device's vitals reading raises an alarm."""

    heart_rate_min: Annotated[int, Field(ge=20, le=200)] = 50
    heart_rate_max: Annotated[int, Field(ge=40, le=250)] = 120
    systolic_min: Annotated[int, Field(ge=50, le=200)] = 90
    systolic_max: Annotated[int, Field(ge=80, le=260)] = 160
    diastolic_min: Annotated[int, Field(ge=30, le=150)] = 50
    diastolic_max: Annotated[int, Field(ge=50, le=160)] = 100
    spo2_min: Annotated[int, Field(ge=70, le=100)] = 90
    temperature_min: Annotated[float, Field(ge=30, le=40)] = 35.0
    temperature_max: Annotated[float, Field(ge=35, le=43)] = 38.0

    @model_validator(mode="after")
    def _minimum_below_maximum(self) -> VitalsThresholds:
        for low, high in (
            ("heart_rate_min", "heart_rate_max"),
            ("systolic_min", "systolic_max"),
            ("diastolic_min", "diastolic_max"),
            ("temperature_min", "temperature_max"),
        ):
            if getattr(self, low) >= getattr(self, high):
                raise ValueError(f"{low} must be below {high}")
        return self


class HealthRecordIn(BaseModel):
    conditions: list[ShortText] = []
    medications: list[Medication] = []
    allergies: list[ShortText] = []
    blood_type: BloodType = BloodType.unknown
    self_care_ability: AbilityLevel = AbilityLevel.intact
    pension_insurance: ShortText = ""
    medical_insurance: ShortText = ""
    other_subsidies: list[ShortText] = []
    ageing_indicators: dict[Annotated[str, Field(max_length=64)], float | str] = {}
    vitals_thresholds: VitalsThresholds = VitalsThresholds()
    notes: LongText = ""


class HealthRecordRead(HealthRecordIn):
    model_config = ConfigDict(from_attributes=True)

    updated_at: datetime


class ContactIn(BaseModel):
    name: Name
    kind: ContactKind
    relation: Annotated[str, Field(max_length=32)] = ""
    phone: PhoneNumber
    notes: LongText = ""


class ContactRead(ContactIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    priority: int


class ConditionOverride(BaseModel):
    """One alarm condition's settings for one elder (dispatch.calls.conditions); unset: the default."""

    model_config = ConfigDict(extra="forbid")

    raise_after_readings: Annotated[int, Field(ge=1, le=20)] | None = None
    raise_after_minutes: Annotated[float, Field(ge=0, le=1440)] | None = None
    clear_after_readings: Annotated[int, Field(ge=1, le=20)] | None = None
    clear_margin: Annotated[float, Field(ge=0, le=1000)] | None = Field(
        default=None, description="bpm, mmHg, %, °C; metres inside the safe area"
    )
    max_accuracy_m: Annotated[float, Field(ge=5, le=5000)] | None = Field(
        default=None, description="positions only: a fix vaguer than this proves nothing"
    )


class AlarmOverrides(BaseModel):
    """An elder's alarm settings over the defaults."""

    model_config = ConfigDict(extra="forbid")

    heart_rate: ConditionOverride | None = None
    systolic: ConditionOverride | None = None
    diastolic: ConditionOverride | None = None
    spo2: ConditionOverride | None = None
    temperature: ConditionOverride | None = None
    geofence: ConditionOverride | None = None
    quiet_hours: Annotated[str, Field(pattern=r"^\d{2}:\d{2}-\d{2}:\d{2}$")] | None = Field(
        default=None, description="Shanghai hours P3/P4 alarms wait out, e.g. 21:00-06:30"
    )

    @field_validator("quiet_hours")
    @classmethod
    def _hours_exist(cls, value: str | None) -> str | None:
        if value is not None:
            parse_hours(value)
        return value


class ElderFields(BaseModel):
    """Everything about an elder that can be set, apart from identity."""

    name: Name
    sex: Sex
    phone: PhoneNumber | None = None
    hukou_type: HukouType
    hukou_address: ShortText
    district: Annotated[str, Field(min_length=1, max_length=32)]
    street: Annotated[str, Field(max_length=32)] = ""
    community: Annotated[str, Field(min_length=1, max_length=64)]
    address: Annotated[str, Field(min_length=1, max_length=200)]
    home_location: LonLat
    safe_area: GeoArea | None = None
    household: list[HouseholdMember] = []
    living_alone: bool = False
    empty_nest: bool = False
    physical_condition: LongText = ""
    economic_condition: LongText = ""
    subsidy_categories: list[SubsidyCategory] = []
    hobbies: list[Annotated[str, Field(max_length=64)]] = []
    dialect: Annotated[str, Field(max_length=32)] = ""
    alarm_overrides: AlarmOverrides = AlarmOverrides()
    status: ElderStatus = ElderStatus.active
    notes: LongText = ""


class ElderCreate(ElderFields):
    id_number: IdNumber
    birth_date: date | None = Field(default=None, description="taken from the ID-card number when omitted")
    health: HealthRecordIn | None = None
    contacts: list[ContactIn] = Field(default=[], description="in call order")

    @model_validator(mode="after")
    def _identity_is_consistent(self) -> ElderCreate:
        _, born, male = parse_id_number(self.id_number)
        if self.birth_date is None:
            self.birth_date = born
        elif self.birth_date != born:
            raise ValueError(f"birth_date {self.birth_date} does not match the ID-card number ({born})")
        if male != (self.sex is Sex.male):
            raise ValueError("sex does not match the ID-card number")
        return self


class ElderUpdate(PartialUpdate):
    """A partial change; identity (ID number, birth date) is corrected by re-registration only."""

    clearable = frozenset({"phone", "safe_area"})

    name: Name | None = None
    phone: PhoneNumber | None = None
    hukou_type: HukouType | None = None
    hukou_address: ShortText | None = None
    district: Annotated[str, Field(min_length=1, max_length=32)] | None = None
    street: Annotated[str, Field(max_length=32)] | None = None
    community: Annotated[str, Field(min_length=1, max_length=64)] | None = None
    address: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    home_location: LonLat | None = None
    safe_area: GeoArea | None = None
    household: list[HouseholdMember] | None = None
    living_alone: bool | None = None
    empty_nest: bool | None = None
    physical_condition: LongText | None = None
    economic_condition: LongText | None = None
    subsidy_categories: list[SubsidyCategory] | None = None
    hobbies: list[Annotated[str, Field(max_length=64)]] | None = None
    dialect: Annotated[str, Field(max_length=32)] | None = None
    alarm_overrides: AlarmOverrides | None = None
    status: ElderStatus | None = None
    notes: LongText | None = None


class ElderSummary(BaseModel):
    """An elder in a list: identity and phone masked, no health data, no position."""

    id: int
    name: str
    sex: Sex
    age: int
    id_number: str
    phone: str | None
    district: str
    street: str
    community: str
    living_alone: bool
    subsidy_categories: list[SubsidyCategory]
    status: ElderStatus


IMEI_PATTERN = re.compile(r"^\d{10}$|^\d{15}$")
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.:-]{6,32}$")


class DeviceCreate(BaseModel):
    imei: Annotated[
        str, Field(min_length=6, max_length=32, description="IMEI of a watch, device id of a phone/app")
    ]
    elder_id: RowId
    kind: DeviceKind = DeviceKind.watch
    heartbeat_interval_s: Annotated[int, Field(ge=30, le=86400)] = 600
    secret: Annotated[str, Field(min_length=16, max_length=128)] | None = Field(
        default=None, description="HMAC key of a phone/app; generated when omitted"
    )
    phone: PhoneNumber | None = Field(default=None, description="the SIM's number: its calls join its alarms")

    @model_validator(mode="after")
    def _identifier_fits_kind(self) -> DeviceCreate:
        if self.kind is DeviceKind.watch and not IMEI_PATTERN.match(self.imei):
            raise ValueError("a watch is identified by its 10- or 15-digit id / IMEI")
        if not DEVICE_ID_PATTERN.match(self.imei):
            raise ValueError("a device id is 6-32 letters, digits or _ . : -")
        return self


class DeviceUpdate(PartialUpdate):
    clearable = frozenset({"phone"})

    elder_id: RowId | None = None
    status: DeviceStatus | None = None
    heartbeat_interval_s: Annotated[int, Field(ge=30, le=86400)] | None = None
    phone: PhoneNumber | None = None


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    imei: str
    elder_id: int
    kind: DeviceKind
    status: DeviceStatus
    heartbeat_interval_s: int
    phone: str | None = None
    firmware: str | None
    battery: int | None
    last_seen_at: datetime | None
    created_at: datetime


class DeviceCreated(DeviceRead):
    secret: str = Field(description="shown once: the key the phone/app signs its requests with")


class ElderRead(ElderFields):
    """An elder's full record (an audited read)."""

    id: int
    id_number: str
    birth_date: date
    age: int
    health: HealthRecordRead | None
    contacts: list[ContactRead]
    devices: list[DeviceRead]
    created_at: datetime
    updated_at: datetime


def elder_fields(elder: Any) -> dict[str, Any]:
    """The ElderFields of a model instance, with the home position as {lon, lat}."""
    values = {name: getattr(elder, name) for name in ElderFields.model_fields if name != "home_location"}
    values["home_location"] = LonLat(lon=elder.home_lon, lat=elder.home_lat)
    return values
