"""Dispatch from the console: send help of a service type to a call, watch its offers, hand it to 120."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from dispatch.api.deps import ClockDep, CurrentActor, ServicesDep, SessionDep, SettingsDep
from dispatch.calls import contacts
from dispatch.calls import service as calls_service
from dispatch.catalog import ServiceType
from dispatch.matching import MatchResult
from dispatch.notify.service import options_for
from dispatch.offers import service
from dispatch.offers.models import Job, JobState, Offer, OfferState
from dispatch.settings import Settings

router = APIRouter(prefix="/api/v1/calls", tags=["dispatch"])


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
    created_by: str
    created_at: datetime
    offers: list[OfferRead] = []


class HandoffRead(BaseModel):
    summary: str
    sms_to: str | None


def _job_read(job: Job, offers: list[Offer]) -> JobRead:
    return JobRead.model_validate(job).model_copy(
        update={"offers": [OfferRead.model_validate(o) for o in offers]}
    )


def policy_for(settings: Settings, service_type: ServiceType) -> service.DispatchPolicy:
    emergency = service_type == ServiceType.emergency_rescue
    return service.DispatchPolicy(
        parallel=settings.emergency_parallel_offers if emergency else 1,
        timeout_seconds=settings.offer_timeouts.get(service_type.value, settings.offer_timeout_seconds),
        window="立即" if settings.sms_language == "zh" else "now",
    )


@router.post("/{call_id}/dispatch", response_model=JobRead, status_code=201)
async def dispatch(
    call_id: int,
    body: DispatchIn,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    services: ServicesDep,
    actor: CurrentActor,
) -> JobRead:
    """Offer the call's job to the nearest eligible providers of the type (409 unless acknowledged)."""

    async def match(lon: float, lat: float) -> MatchResult:
        return await services.matcher.match(
            session=session, service_type=body.service_type, lon=lon, lat=lat, at=clock.now()
        )

    job = await service.dispatch_call(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        service_type=body.service_type,
        match=match,
        policy=policy_for(settings, body.service_type),
        options=options_for(settings),
    )
    return _job_read(job, await service.offers_of(session=session, job_id=job.id))


@router.get("/{call_id}/jobs", response_model=list[JobRead])
async def jobs(call_id: int, session: SessionDep, actor: CurrentActor) -> list[JobRead]:
    """The call's dispatches, each with its ranking, exclusions and the offers made so far."""
    await calls_service.get(session=session, call_id=call_id)
    return [
        _job_read(job, offers) for job, offers in await service.jobs_of_call(session=session, call_id=call_id)
    ]


@router.post("/{call_id}/handoff-120", response_model=HandoffRead, status_code=201)
async def handoff_to_120(
    call_id: int, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> HandoffRead:
    """Hand the call to 120: recorded on the timeline; the location summary is returned to read out and
    sent by SMS to `DISPATCH_HANDOFF_SMS_TO` when set."""
    summary = await contacts.handoff_to_120(
        session=session,
        clock=clock,
        actor=actor,
        call_id=call_id,
        options=options_for(settings),
        sms_to=settings.handoff_sms_to,
    )
    return HandoffRead(summary=summary, sms_to=settings.handoff_sms_to or None)
