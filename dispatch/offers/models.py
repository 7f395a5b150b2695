"""Jobs and the offers made for them; the accepted offer is the job's assignment."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from dispatch.catalog import ServiceType
from dispatch.db.base import Base, JSONType, enum_type


class JobState(StrEnum):
    offering = "offering"  # offers are out; nobody has accepted yet
    assigned = "assigned"  # a provider accepted
    completed = "completed"  # the provider reported the job done
    exhausted = "exhausted"  # nobody left to offer it to: back to the agents
    cancelled = "cancelled"


class OfferState(StrEnum):
    offered = "offered"
    accepted = "accepted"
    arrived = "arrived"
    done = "done"
    declined = "declined"
    expired = "expired"  # no answer in time
    undeliverable = "undeliverable"  # the offer SMS could not be delivered: counts as no answer
    withdrawn = "withdrawn"  # another provider accepted first, or the job was cancelled


LIVE_JOB_STATES = frozenset({JobState.offering, JobState.assigned})
LIVE_JOB_PREDICATE = "state IN ('offering', 'assigned')"

OPEN_OFFER_STATES = frozenset({OfferState.offered})
ASSIGNED_OFFER_STATES = frozenset({OfferState.accepted, OfferState.arrived})


class Job(Base):
    """A request for help of one service type at one place, from a call (or a service order)."""

    __tablename__ = "job"
    # One live job per call and service type, and per order: whoever dispatches second fails here.
    __table_args__ = (
        Index(
            "uq_job_live_call_service",
            "call_id",
            "service_type",
            unique=True,
            postgresql_where=text(LIVE_JOB_PREDICATE),
            sqlite_where=text(LIVE_JOB_PREDICATE),
        ),
        Index(
            "uq_job_live_order",
            "order_id",
            unique=True,
            postgresql_where=text(LIVE_JOB_PREDICATE),
            sqlite_where=text(LIVE_JOB_PREDICATE),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("call.id", ondelete="CASCADE"), index=True)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("service_order.id"), index=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id"))
    service_type: Mapped[ServiceType] = mapped_column(enum_type(ServiceType))
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(Text)
    window: Mapped[str] = mapped_column(String(64))  # as the offer SMS says it, e.g. "立即"
    parallel: Mapped[int]  # offers out at once: several for emergencies, one for home services
    timeout_seconds: Mapped[int]
    state: Mapped[JobState] = mapped_column(enum_type(JobState))
    # The ranking at the time of dispatch, with why each provider was placed (or left out) there.
    ranking: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    exclusions: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    next_rank: Mapped[int] = mapped_column(default=0)  # index into ranking of the next provider to ask
    reason: Mapped[str] = mapped_column(Text, default="")  # in English, for the log and the API's readers
    # The reason as a code and its parameters (the console says it in its own language), e.g.
    # "no_eligible_provider", {"considered": 3}.
    reason_code: Mapped[str] = mapped_column(String(32), default="")
    reason_params: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Offer(Base):
    """A job offered to one provider by SMS, answered by a reply carrying its code."""

    __tablename__ = "offer"
    __table_args__ = (
        Index("ix_offer_state_deadline", "state", "deadline_at"),
        Index("ix_offer_code_state", "code", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("job.id", ondelete="CASCADE"), index=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id"), index=True)
    provider_name: Mapped[str] = mapped_column(String(128))
    provider_phone: Mapped[str] = mapped_column(String(20))
    rank: Mapped[int]
    distance_m: Mapped[int]
    code: Mapped[str] = mapped_column(String(8))  # the short job code providers reply with
    state: Mapped[OfferState] = mapped_column(enum_type(OfferState))
    offered_at: Mapped[datetime]
    deadline_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    arrived_at: Mapped[datetime | None]
    done_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
