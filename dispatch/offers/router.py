"""Dispatch from the console: send help of a service type to a call, watch its offers, hand it to 120."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import ClockDep, CurrentActor, ServicesDep, SessionDep, SettingsDep
from dispatch.calls import contacts
from dispatch.calls import service as calls_service
from dispatch.matching import MatchResult
from dispatch.notify.service import options_for
from dispatch.offers import service
from dispatch.offers.schemas import DispatchIn, HandoffRead, JobRead, job_read
from dispatch.schemas import RowId

router = APIRouter(prefix="/api/v1/calls", tags=["dispatch"])


@router.post("/{call_id}/dispatch", response_model=JobRead, status_code=201)
async def dispatch(
    call_id: RowId,
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
        policy=service.policy_for(settings, body.service_type),
        options=options_for(settings),
    )
    return job_read(job, await service.offers_of(session=session, job_id=job.id))


@router.get("/{call_id}/jobs", response_model=list[JobRead])
async def jobs(call_id: RowId, session: SessionDep, actor: CurrentActor) -> list[JobRead]:
    """The call's dispatches, each with its ranking, exclusions and the offers made so far."""
    await calls_service.get(session=session, call_id=call_id)
    return [
        job_read(job, offers) for job, offers in await service.jobs_of_call(session=session, call_id=call_id)
    ]


@router.post("/{call_id}/handoff-120", response_model=HandoffRead, status_code=201)
async def handoff_to_120(
    call_id: RowId, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
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
