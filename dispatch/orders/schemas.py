"""API bodies for service orders and recurring plans."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from dispatch.catalog import ServiceType
from dispatch.offers.schemas import JobRead
from dispatch.orders.models import OrderSource, OrderState, PaymentMethod, PlanFrequency
from dispatch.schemas import RowId

HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
MAX_WINDOW_HOURS = 24


class OrderCreate(BaseModel):
    elder_id: RowId
    service_type: ServiceType
    window_start: AwareDatetime
    window_end: AwareDatetime
    notes: Annotated[str, Field(max_length=2000)] = ""
    source: OrderSource = OrderSource.phone
    address: Annotated[str, Field(max_length=200)] | None = Field(
        default=None, description="where the service is wanted; the elder's home when left out"
    )

    @field_validator("service_type")
    @classmethod
    def _not_an_emergency(cls, value: ServiceType) -> ServiceType:
        if value == ServiceType.emergency_rescue:
            raise ValueError("emergency rescue is dispatched from a call, not ordered")
        return value

    @model_validator(mode="after")
    def _window_is_sane(self) -> OrderCreate:
        if self.window_end <= self.window_start:
            raise ValueError("window_end must be after window_start")
        if (self.window_end - self.window_start).total_seconds() > MAX_WINDOW_HOURS * 3600:
            raise ValueError(f"a time window is at most {MAX_WINDOW_HOURS} hours")
        return self


class OrderReason(BaseModel):
    reason: Annotated[str, Field(min_length=1, max_length=1000)]


class OrderRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    elder_id: int
    elder_name: str
    service_type: ServiceType
    source: OrderSource
    plan_id: int | None
    state: OrderState
    window_start: datetime
    window_end: datetime
    address: str
    notes: str
    provider_id: int | None
    provider_name: str | None
    price_item: str | None
    price_cents: int | None
    payment_method: PaymentMethod
    subsidy_cents: int | None
    self_pay_cents: int | None
    escalated_at: datetime | None
    escalation_reason: str
    escalation_code: str  # the reason for the console to say in its language ("" while not escalated)
    escalation_params: dict[str, Any]
    reason: str
    accepted_at: datetime | None
    arrived_at: datetime | None
    completed_at: datetime | None
    created_by: str
    created_at: datetime
    updated_at: datetime
    overdue: bool = False


class OrderDetail(OrderRead):
    history: list[dict[str, Any]]
    job: JobRead | None = None


class PlanCreate(BaseModel):
    elder_id: RowId
    service_type: ServiceType
    frequency: PlanFrequency
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = []
    month_days: list[Annotated[int, Field(ge=1, le=31)]] = []
    start_time: str = Field(examples=["11:00"], description="local (Shanghai) HH:MM")
    end_time: str = Field(examples=["12:00"])
    starts_on: date
    ends_on: date | None = None
    notes: Annotated[str, Field(max_length=2000)] = ""

    @field_validator("start_time", "end_time")
    @classmethod
    def _is_clock_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError("times are HH:MM between 00:00 and 23:59")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> PlanCreate:
        if self.start_time >= self.end_time:
            raise ValueError("start_time must be before end_time")
        if self.frequency == PlanFrequency.weekly and not self.weekdays:
            raise ValueError("a weekly plan needs weekdays")
        if self.frequency == PlanFrequency.monthly and not self.month_days:
            raise ValueError("a monthly plan needs month_days")
        if self.ends_on is not None and self.ends_on < self.starts_on:
            raise ValueError("ends_on is before starts_on")
        if self.service_type == ServiceType.emergency_rescue:
            raise ValueError("emergency rescue cannot be planned")
        return self


class PlanRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    elder_id: int
    service_type: ServiceType
    frequency: PlanFrequency
    weekdays: list[int]
    month_days: list[int]
    start_time: str
    end_time: str
    starts_on: date
    ends_on: date | None
    notes: str
    active: bool
    generated_until: date | None
    created_by: str
    created_at: datetime
