"""API bodies for providers and their staff."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from dispatch.catalog import ServiceType
from dispatch.providers.admission import AdmissionCriterion
from dispatch.providers.models import ProviderStatus
from dispatch.schemas import GeoArea, LonLat, PartialUpdate, PhoneNumber

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


class PriceItem(BaseModel):
    """One line of the public price list (明码标价)."""

    service_type: ServiceType
    item: Annotated[str, Field(min_length=1, max_length=100)]
    unit: Annotated[str, Field(min_length=1, max_length=20)] = Field(examples=["次", "小时", "餐"])
    price_cents: Annotated[int, Field(ge=0, le=10_000_000)]


class WorkingWindow(BaseModel):
    """Opening hours on some weekdays (1 = Monday ... 7 = Sunday), local time, end may be 24:00."""

    weekdays: Annotated[list[Annotated[int, Field(ge=1, le=7)]], Field(min_length=1)]
    start: str = "08:00"
    end: str = "18:00"

    @field_validator("start", "end")
    @classmethod
    def _is_clock_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("times are HH:MM between 00:00 and 24:00")
        return value

    @model_validator(mode="after")
    def _starts_before_end(self) -> WorkingWindow:
        if self.start >= self.end:
            raise ValueError("start must be before end")
        return self


ServiceTypes = Annotated[list[ServiceType], Field(min_length=1)]


class ProviderFields(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=128, description="legal name")]
    registration_number: Annotated[str, Field(pattern=r"^[0-9A-Z]{15,18}$", description="统一社会信用代码")]
    contact_person: Annotated[str, Field(max_length=64)] = ""
    phone: PhoneNumber = Field(description="receives job offers by SMS")
    address: Annotated[str, Field(max_length=200)] = ""
    district: Annotated[str, Field(max_length=32)] = ""
    service_types: ServiceTypes
    qualifications: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default=[], max_length=20, description="licences and certificates, e.g. 养老护理员证"
    )
    base_location: LonLat
    service_area: GeoArea
    price_list: list[PriceItem] = []
    service_frequency: Annotated[str, Field(max_length=2000)] = ""
    commitments: Annotated[str, Field(max_length=4000)] = ""
    capacity: Annotated[int, Field(ge=1, le=10_000, description="jobs it can run at once")] = 1
    working_hours: list[WorkingWindow] = []

    @model_validator(mode="after")
    def _prices_for_offered_services(self) -> ProviderFields:
        offered = set(self.service_types)
        for item in self.price_list:
            if item.service_type not in offered:
                raise ValueError(
                    f"price list names {item.service_type.value}, which is not among service_types"
                )
        return self


class AdmissionCheck(BaseModel):
    """A reviewer's finding on one admission criterion; the evidence says what was seen (required if met)."""

    met: bool
    evidence: Annotated[str, Field(max_length=2000)] = ""

    @model_validator(mode="after")
    def _evidence_when_met(self) -> AdmissionCheck:
        if self.met and not self.evidence.strip():
            raise ValueError("evidence is required when a criterion is met")
        return self


class AdmissionRecord(AdmissionCheck):
    """A checklist entry as stored: the finding, who checked and when."""

    checked_by: str
    checked_at: datetime


class ProviderCreate(ProviderFields):
    """A new provider starts as pending until a supervisor activates it (every criterion met)."""

    admission: dict[AdmissionCriterion, AdmissionCheck] = Field(
        default={}, description="findings already checked, recorded as checked by the creating operator"
    )


class ProviderUpdate(PartialUpdate):
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    contact_person: Annotated[str, Field(max_length=64)] | None = None
    phone: PhoneNumber | None = None
    address: Annotated[str, Field(max_length=200)] | None = None
    district: Annotated[str, Field(max_length=32)] | None = None
    service_types: ServiceTypes | None = None
    qualifications: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=20
    )
    base_location: LonLat | None = None
    service_area: GeoArea | None = None
    price_list: list[PriceItem] | None = None
    service_frequency: Annotated[str, Field(max_length=2000)] | None = None
    commitments: Annotated[str, Field(max_length=4000)] | None = None
    capacity: Annotated[int, Field(ge=1, le=10_000)] | None = None
    working_hours: list[WorkingWindow] | None = None


class ProviderStatusChange(BaseModel):
    status: ProviderStatus
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class StaffIn(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    phone: PhoneNumber
    qualifications: list[Annotated[str, Field(max_length=100)]] = []
    service_types: list[ServiceType] = []
    active: bool = True


class StaffRead(StaffIn):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    created_at: datetime


class ProviderSummary(BaseModel):
    id: int
    name: str
    registration_number: str
    phone: str
    district: str
    service_types: list[ServiceType]
    base_location: LonLat
    service_area: dict[str, object]
    capacity: int
    status: ProviderStatus
    rating: float
    rating_count: int
    review_flag: str


class NearbyProvider(ProviderSummary):
    distance_m: int


class ProviderRead(ProviderSummary):
    qualifications: list[str]
    contact_person: str
    address: str
    price_list: list[PriceItem]
    service_frequency: str
    commitments: str
    working_hours: list[WorkingWindow]
    status_reason: str
    admission: dict[AdmissionCriterion, AdmissionRecord]
    admission_missing: list[AdmissionCriterion]
    flagged_at: datetime | None
    staff: list[StaffRead]
    created_at: datetime
    updated_at: datetime
    coverage_warnings: list[CoverageShortfall] = Field(
        default=[], description="minimums this change broke (the change was still made; supervisors alerted)"
    )


class CoverageShortfall(BaseModel):
    """A district left with fewer active providers of a required type than the minimum."""

    district: str
    service_type: ServiceType
    active: int
    minimum: int


class CoverageRow(BaseModel):
    """Active providers of one service type based in one district."""

    model_config = ConfigDict(from_attributes=True)

    district: str
    service_type: ServiceType
    active_providers: int
    required: bool = Field(description="the tender asks for a minimum of this type in every district")
    meets_minimum: bool = Field(description="always true for types without a minimum")


class UncoveredElder(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    district: str
    community: str


class UncoveredGroup(BaseModel):
    """Active elders no active provider of the type reaches within the circle (at most 50 listed)."""

    model_config = ConfigDict(from_attributes=True)

    service_type: ServiceType
    count: int
    elders: list[UncoveredElder]


class CoverageReport(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    circle_minutes: int
    minimum: int
    districts: list[CoverageRow]
    uncovered: list[UncoveredGroup]
