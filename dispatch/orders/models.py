"""Home-service orders (服务工单) and the recurring plans that generate them."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.catalog import ServiceType
from dispatch.db.base import Base, JSONType, enum_type


class OrderState(StrEnum):
    requested = "requested"  # taken, not yet offered (or nobody accepted: back to the agents)
    scheduled = "scheduled"  # offered to a provider, or accepted by one
    in_progress = "in_progress"  # the provider arrived
    completed = "completed"  # the provider reported it done
    followed_up = "followed_up"  # the follow-up call was made
    cancelled = "cancelled"
    failed = "failed"


OPEN_ORDER_STATES = frozenset({OrderState.requested, OrderState.scheduled, OrderState.in_progress})


class OrderSource(StrEnum):
    phone = "phone"  # an agent took it on the phone
    app = "app"  # the elder's phone or app raised it
    plan = "plan"  # generated from a recurring plan
    care_call = "care_call"  # opened during a care call


class PaymentMethod(StrEnum):
    subsidy = "subsidy"  # paid by the government subsidy
    self_pay = "self_pay"
    mixed = "mixed"


class PlanFrequency(StrEnum):
    weekly = "weekly"  # on some weekdays
    monthly = "monthly"  # on some days of the month (31 = the month's last day in shorter months)


class RecurringPlan(Base):
    """A standing request, e.g. lunch every weekday or bathing every Saturday, in Shanghai local time."""

    __tablename__ = "recurring_plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), index=True)
    service_type: Mapped[ServiceType] = mapped_column(enum_type(ServiceType))
    frequency: Mapped[PlanFrequency] = mapped_column(enum_type(PlanFrequency))
    weekdays: Mapped[list[int]] = mapped_column(JSONType, default=list)  # 1 = Monday ... 7 = Sunday
    month_days: Mapped[list[int]] = mapped_column(JSONType, default=list)  # 1..31
    start_time: Mapped[str] = mapped_column(String(5))  # local "HH:MM"
    end_time: Mapped[str] = mapped_column(String(5))
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    notes: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)
    generated_until: Mapped[date | None]  # orders exist for every occurrence up to this local date
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ServiceOrder(Base):
    """One home-service job for an elder in a requested time window."""

    __tablename__ = "service_order"
    __table_args__ = (
        UniqueConstraint("plan_id", "window_start", name="uq_service_order_plan_window"),
        Index("ix_service_order_state_window", "state", "window_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"), index=True)
    elder_name: Mapped[str] = mapped_column(String(64))
    service_type: Mapped[ServiceType] = mapped_column(enum_type(ServiceType))
    source: Mapped[OrderSource] = mapped_column(enum_type(OrderSource))
    plan_id: Mapped[int | None] = mapped_column(ForeignKey("recurring_plan.id", ondelete="SET NULL"))
    state: Mapped[OrderState] = mapped_column(enum_type(OrderState))
    window_start: Mapped[datetime]
    window_end: Mapped[datetime]
    address: Mapped[str] = mapped_column(Text)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    notes: Mapped[str] = mapped_column(Text, default="")
    job_id: Mapped[int | None]  # the current dispatch
    provider_id: Mapped[int | None] = mapped_column(ForeignKey("provider.id"), index=True)
    provider_name: Mapped[str | None] = mapped_column(String(128))
    price_item: Mapped[str | None] = mapped_column(String(100))
    price_cents: Mapped[int | None]
    payment_method: Mapped[PaymentMethod] = mapped_column(enum_type(PaymentMethod))
    subsidy_cents: Mapped[int | None]
    self_pay_cents: Mapped[int | None]
    escalated_at: Mapped[datetime | None]
    escalation_reason: Mapped[str] = mapped_column(Text, default="")  # in English
    escalation_code: Mapped[str] = mapped_column(String(32), default="")  # the reason as the console says it
    escalation_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")  # why cancelled or failed
    accepted_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    # What happened, in order: {at, kind, by, text, detail}.
    history: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
