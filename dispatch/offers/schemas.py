"""API bodies for dispatching: jobs and their offers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from dispatch.catalog import ServiceType
from dispatch.offers.models import Job, JobState, Offer, OfferState


class DispatchIn(BaseModel):
    service_type: ServiceType


class OfferRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_id: int
    provider_name: str
    rank: int
    distance_m: int
    code: str
    state: OfferState
    offered_at: datetime
    deadline_at: datetime | None
    answered_at: datetime | None
    arrived_at: datetime | None
    done_at: datetime | None


class JobRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    service_type: ServiceType
    state: JobState
    parallel: int
    timeout_seconds: int
    ranking: list[dict[str, Any]]
    exclusions: list[dict[str, Any]]
    reason: str
    reason_code: str  # the reason for the console to say in its language ("" while there is none)
    reason_params: dict[str, Any]
    created_by: str
    created_at: datetime
    offers: list[OfferRead] = []


class HandoffRead(BaseModel):
    summary: str
    sms_to: str | None


def job_read(job: Job, offers: list[Offer]) -> JobRead:
    return JobRead.model_validate(job).model_copy(
        update={"offers": [OfferRead.model_validate(o) for o in offers]}
    )
