"""The dispatcher's offers: a job goes to the best-ranked providers by SMS, `parallel` at a time; a
decline, an undeliverable SMS or no answer before the deadline moves it to the next one; the first to
accept gets it; nobody left sends it back to the agents with the reason. Every step is on the call's
timeline. Deadlines are stored and each expiry is claimed by one conditional UPDATE (once across
processes)."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch import reasons
from dispatch.auth.actor import Actor
from dispatch.calls import service as calls_service
from dispatch.calls.states import CallState
from dispatch.catalog import SERVICE_TYPE_LABELS_ZH, ServiceType
from dispatch.clock import Clock
from dispatch.elders.models import Elder
from dispatch.errors import Conflict, InvalidTransition, NotFound
from dispatch.geo import map_link
from dispatch.jobpage import tokens
from dispatch.matching import MatchResult
from dispatch.notify import service as sms
from dispatch.notify.models import SmsMessage, SmsPurpose
from dispatch.notify.service import SmsOptions
from dispatch.notify.templates import render
from dispatch.offers.models import ASSIGNED_OFFER_STATES, LIVE_JOB_STATES, Job, JobState, Offer, OfferState
from dispatch.offers.replies import Reply, ReplyAction, parse_reply
from dispatch.orders import progress as order_progress
from dispatch.orders.models import ServiceOrder
from dispatch.providers.models import Provider, ProviderStaff, ProviderStatus
from dispatch.settings import Settings

logger = logging.getLogger(__name__)

SYSTEM = Actor.system("dispatcher")
CODE_DIGITS = (4, 5, 6)
CODE_TRIES = 20  # random tries per length before a longer code (4 digits: 1% at 80% of codes taken)
LIVE_CODE_STATES = (OfferState.offered, OfferState.accepted, OfferState.arrived)
CLOSED_OFFER_STATES = (
    OfferState.withdrawn,
    OfferState.expired,
    OfferState.declined,
    OfferState.undeliverable,
)


@dataclass(frozen=True, slots=True)
class JobRequest:
    call_id: int | None
    elder: Elder
    service_type: ServiceType
    lon: float
    lat: float
    window: str
    parallel: int
    timeout_seconds: int
    ranking: list[dict[str, Any]]  # each: provider_id, name, distance_m, ... (the matcher's explanation)
    exclusions: list[dict[str, Any]]
    order_id: int | None = None
    address: str | None = None  # where help is wanted, when not at the elder's home


def service_label(service_type: ServiceType, language: str) -> str:
    return SERVICE_TYPE_LABELS_ZH[service_type] if language == "zh" else service_type.value.replace("_", " ")


@dataclass(frozen=True, slots=True)
class DispatchPolicy:
    """How a job is offered: how many providers at once and how long each has to answer."""

    parallel: int
    timeout_seconds: int
    window: str


def policy_for(settings: Settings, service_type: ServiceType) -> DispatchPolicy:
    """Emergencies go to several providers at once; home services to one at a time."""
    emergency = service_type == ServiceType.emergency_rescue
    return DispatchPolicy(
        parallel=settings.emergency_parallel_offers if emergency else 1,
        timeout_seconds=settings.offer_timeouts.get(service_type.value, settings.offer_timeout_seconds),
        window="立即" if settings.sms_language == "zh" else "now",
    )


async def dispatch_call(
    *,
    session: AsyncSession,
    clock: Clock,
    actor: Actor,
    call_id: int,
    service_type: ServiceType,
    match: Callable[[float, float], Awaitable[MatchResult]],
    policy: DispatchPolicy,
    options: SmsOptions,
) -> Job:
    """Send help of a type to a call: the call goes to dispatched and the best providers get offers."""
    call = await calls_service.get(session=session, call_id=call_id)
    if call.state == CallState.acknowledged:
        await calls_service.transition(
            session=session, clock=clock, actor=actor, call_id=call_id, target=CallState.dispatched
        )
    elif call.state == CallState.dispatched:
        await calls_service.hold_for_dispatch(session=session, actor=actor, call_id=call_id)
    else:
        raise InvalidTransition(
            f"a call that is {call.state.value} cannot be dispatched (acknowledge it first)",
            reason="acknowledge_first",
        )
    if await session.scalar(
        select(Job.id).where(
            Job.call_id == call_id,
            Job.service_type == service_type,
            Job.state.in_((JobState.offering, JobState.assigned)),
        )
    ):
        raise Conflict(
            f"{service_type.value} is already being dispatched for this call",
            reason="already_dispatching",
            params={"service_type": service_type.value},
        )
    elder = await session.get(Elder, call.elder_id)
    if elder is None:
        raise NotFound(f"elder {call.elder_id} not found")
    lon, lat = calls_service.where(call, elder)
    result = await match(lon, lat)
    request = JobRequest(
        call_id=call_id,
        elder=elder,
        service_type=service_type,
        lon=lon,
        lat=lat,
        window=policy.window,
        parallel=policy.parallel,
        timeout_seconds=policy.timeout_seconds,
        ranking=[plain(asdict(r)) for r in result.ranked],
        exclusions=[plain(asdict(e)) for e in result.excluded],
    )
    return await start(session=session, clock=clock, actor=actor, request=request, options=options)


def plain(values: dict[str, Any]) -> dict[str, Any]:
    """JSON-ready: enums as their values, distances in whole metres."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, StrEnum):
            value = value.value
        elif key == "distance_m":
            value = round(value)
        elif isinstance(value, float):
            value = round(value, 2)
        out[key] = value
    return out


async def start(
    *, session: AsyncSession, clock: Clock, actor: Actor, request: JobRequest, options: SmsOptions
) -> Job:
    """Create the job and send the first offers (or report at once that nobody can take it)."""
    now = clock.now()
    job = Job(
        call_id=request.call_id,
        order_id=request.order_id,
        elder_id=request.elder.id,
        service_type=request.service_type,
        lon=request.lon,
        lat=request.lat,
        address=request.address or request.elder.address,
        window=request.window,
        parallel=request.parallel,
        timeout_seconds=request.timeout_seconds,
        state=JobState.offering,
        ranking=request.ranking,
        exclusions=request.exclusions,
        next_rank=0,
        reason="",
        reason_code="",
        reason_params={},
        created_by=actor.username,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(job)
            await session.flush()
    except IntegrityError:  # one live job per call and service type, and per order
        raise Conflict(f"{request.service_type.value} is already being dispatched for this") from None
    await _timeline(
        session,
        clock,
        job,
        "dispatch",
        actor=actor,
        service_type=request.service_type.value,
        job_id=job.id,
        candidates=len(request.ranking),
        excluded=len(request.exclusions),
    )
    await _offer_more(session, clock, job, options)
    return job


async def _offer_more(session: AsyncSession, clock: Clock, job: Job, options: SmsOptions) -> None:
    """Keep `parallel` offers out while candidates remain; none out and none left: exhausted."""
    if job.state != JobState.offering:
        return
    out = len(await _offers(session, job.id, OfferState.offered))
    while out < job.parallel and job.next_rank < len(job.ranking):
        candidate = job.ranking[job.next_rank]
        job.next_rank += 1
        provider = await session.get(Provider, candidate["provider_id"])
        if provider is None or provider.status != ProviderStatus.active:  # suspended since the ranking
            continue
        await _make_offer(session, clock, job, provider, candidate, options)
        out += 1
    if out == 0:
        await _exhaust(session, clock, job)
    job.updated_at = clock.now()


async def _make_offer(
    session: AsyncSession,
    clock: Clock,
    job: Job,
    provider: Provider,
    candidate: dict[str, Any],
    options: SmsOptions,
) -> Offer:
    now = clock.now()
    offer = Offer(
        job_id=job.id,
        provider_id=provider.id,
        provider_name=provider.name,
        provider_phone=provider.phone,
        rank=int(candidate.get("rank", job.next_rank)),
        distance_m=int(candidate.get("distance_m", 0)),
        code=await _free_code(session),
        state=OfferState.offered,
        offered_at=now,
        deadline_at=now + timedelta(seconds=job.timeout_seconds),
        updated_at=now,
    )
    session.add(offer)
    await session.flush()
    body = render(
        "offer",
        options.language,
        service=service_label(job.service_type, options.language),
        address=job.address,
        distance=f"{offer.distance_m / 1000:.1f}",
        window=job.window,
        code=offer.code,
        minutes=max(1, job.timeout_seconds // 60),
        link=await _job_link(session, job, offer, options),
    ).rstrip()
    await _send(
        session, clock, options, to=provider.phone, body=body, purpose=SmsPurpose.offer, job=job, offer=offer
    )
    await _timeline(
        session,
        clock,
        job,
        "offer",
        provider=provider.name,
        rank=offer.rank,
        code=offer.code,
        distance_m=offer.distance_m,
    )
    return offer


async def _job_link(session: AsyncSession, job: Job, offer: Offer, options: SmsOptions) -> str:
    """The job page's signed link for this offer (none when the deployment signs no links)."""
    if not options.link_key or offer.deadline_at is None:
        return ""
    order = None if job.order_id is None else await session.get(ServiceOrder, job.order_id)
    expires_at = tokens.link_expiry(
        window_end=None if order is None else order.window_end,
        offer_deadline=offer.deadline_at,
        grace=options.link_grace,
    )
    token = tokens.make_token(options.link_key, offer.id, expires_at)
    return tokens.job_url(options.public_base_url, token)


async def _free_code(session: AsyncSession) -> str:
    """A code no live offer uses, so a reply names exactly one offer: four digits while they are plentiful,
    five or six once most are taken (accepted orders for the days ahead hold theirs), never an endless loop."""
    for digits in CODE_DIGITS:
        for _ in range(CODE_TRIES):
            code = str(10 ** (digits - 1) + secrets.randbelow(9 * 10 ** (digits - 1)))
            taken = await session.scalar(
                select(Offer.id).where(Offer.code == code, Offer.state.in_(LIVE_CODE_STATES)).limit(1)
            )
            if taken is None:
                return code
    raise Conflict("no free job code: too many live offers")


async def _exhaust(session: AsyncSession, clock: Clock, job: Job) -> None:
    reason = (
        reasons.nobody_accepted_in_time(job.next_rank)
        if job.ranking
        else reasons.no_eligible_provider(len(job.exclusions))
    )
    job.reason, job.reason_code, job.reason_params = reason.text, reason.code, reason.params
    job.state = JobState.exhausted
    logger.warning("job %d exhausted: %s", job.id, job.reason)
    await _timeline(
        session,
        clock,
        job,
        "dispatch_failed",
        text=reason.text,
        job_id=job.id,
        reason_code=reason.code,
        reason_params=reason.params,
    )


async def expire_due(*, session: AsyncSession, clock: Clock, options: SmsOptions) -> int:
    """Expire unanswered offers past their deadline and move their jobs on; returns how many."""
    now = clock.now()
    due = await session.scalars(
        select(Offer.job_id).where(Offer.state == OfferState.offered, Offer.deadline_at <= now).distinct()
    )
    expired = 0
    for job_id in sorted(due):
        job = await _locked_job(session, job_id)
        rows = await session.scalars(
            update(Offer)
            .where(Offer.job_id == job_id, Offer.state == OfferState.offered, Offer.deadline_at <= now)
            .values(state=OfferState.expired, answered_at=now, updated_at=now)
            .returning(Offer.id)
        )
        for offer_id in list(rows):
            offer = await session.get(Offer, offer_id, populate_existing=True)
            if offer is not None:
                await _timeline(
                    session, clock, job, "offer_expired", provider=offer.provider_name, code=offer.code
                )
                expired += 1
        await _offer_more(session, clock, job, options)
    return expired


async def next_deadline(*, session: AsyncSession) -> datetime | None:
    return await session.scalar(
        select(Offer.deadline_at)
        .where(Offer.state == OfferState.offered)
        .order_by(Offer.deadline_at)
        .limit(1)
    )


async def cancel_job(
    *, session: AsyncSession, clock: Clock, job_id: int, options: SmsOptions, reason: str = ""
) -> None:
    """Stop a job that is still offering or assigned: its providers are told it is withdrawn (a late
    acceptance then finds no live offer and gets "no longer needed", never the elder's details)."""
    job = await _locked_job(session, job_id)
    if job.state not in LIVE_JOB_STATES:
        return
    await session.execute(
        update(Job)
        .where(Job.id == job.id)
        .values(state=JobState.cancelled, reason=reason or job.reason, updated_at=clock.now())
    )
    await session.refresh(job)
    await _timeline(session, clock, job, "dispatch_cancelled", text=reason, job_id=job.id)
    withdrawn = await session.scalars(
        update(Offer)
        .where(Offer.job_id == job.id, Offer.state.in_(LIVE_CODE_STATES))
        .values(state=OfferState.withdrawn, updated_at=clock.now())
        .returning(Offer.id)
    )
    for offer_id in list(withdrawn):
        offer = await session.get(Offer, offer_id, populate_existing=True)
        if offer is not None:
            await _tell_withdrawn(session, clock, job, offer, options)


async def lock_live_jobs_of_call(*, session: AsyncSession, call_id: int) -> None:
    """Lock a call's live jobs for this transaction, in id order, before the call itself: replies and
    deadlines lock a job, then write to its call, so a call's move must take its jobs in that order too."""
    await session.execute(
        select(Job.id)
        .where(Job.call_id == call_id, Job.state.in_(LIVE_JOB_STATES))
        .order_by(Job.id)
        .with_for_update()
    )


async def end_jobs_of_call(
    *, session: AsyncSession, clock: Clock, call_id: int, work_done: bool, reason: str, options: SmsOptions
) -> int:
    """A call that left its open states needs no more help: its live jobs end. When the work is done
    (resolved, closed) a provider already on scene has finished; every other live job is cancelled and
    its providers told. Returns how many jobs ended."""
    live = list(
        await session.scalars(
            select(Job.id).where(Job.call_id == call_id, Job.state.in_(LIVE_JOB_STATES)).order_by(Job.id)
        )
    )
    for job_id in live:
        if not (work_done and await _finish_on_scene(session, clock, job_id)):
            await cancel_job(session=session, clock=clock, job_id=job_id, options=options, reason=reason)
    return len(live)


async def _finish_on_scene(session: AsyncSession, clock: Clock, job_id: int) -> bool:
    """Complete a job whose provider is on scene; False if none is."""
    job = await _locked_job(session, job_id)
    on_scene = await session.scalar(
        select(Offer).where(Offer.job_id == job_id, Offer.state == OfferState.arrived).limit(1)
    )
    if on_scene is None or not await _move(session, clock, on_scene, OfferState.done, done_at=clock.now()):
        return False
    await _move(session, clock, job, JobState.completed)
    await _timeline(session, clock, job, "provider_done", provider=on_scene.provider_name, code=on_scene.code)
    return True


async def offer_sms_failed(
    *, session: AsyncSession, clock: Clock, message: SmsMessage, options: SmsOptions
) -> None:
    """An offer SMS that could not be delivered counts as no answer."""
    if message.offer_id is None or message.purpose != SmsPurpose.offer:
        return
    offer = await session.get(Offer, message.offer_id)
    if offer is None:
        return
    job = await _locked_job(session, offer.job_id)
    if not await _move(session, clock, offer, OfferState.undeliverable, answered_at=clock.now()):
        return
    await _timeline(
        session,
        clock,
        job,
        "offer_undeliverable",
        provider=offer.provider_name,
        code=offer.code,
        error=message.error_code,
    )
    await _offer_more(session, clock, job, options)


# ---------------------------------------------------------------- replies


@dataclass(frozen=True, slots=True)
class ReplyOutcome:
    handled: bool
    detail: str


async def handle_reply(
    *,
    session: AsyncSession,
    clock: Clock,
    from_number: str,
    text: str,
    options: SmsOptions,
    entered_by: str | None = None,
) -> ReplyOutcome:
    """Apply a provider's SMS reply; answer with help when it cannot be read or names no live job."""
    reply = parse_reply(text)
    offer = None if reply is None else await _offer_by_code(session, reply.code)
    if reply is not None and offer is None and (gone := await _past_offer(session, reply.code, from_number)):
        # A provider answering a job that went to someone else, or expired: say so, not "not understood".
        await _tell_withdrawn(session, clock, await _job(session, gone.job_id), gone, options)
        return ReplyOutcome(False, f"job {reply.code} is no longer this provider's")
    if reply is None or offer is None:
        logger.info("SMS reply not understood from %s****", from_number[:-4])
        await _send(
            session,
            clock,
            options,
            to=from_number,
            body=render("help", options.language),
            purpose=SmsPurpose.help,
        )
        return ReplyOutcome(False, "not understood" if reply is None else f"no live job {reply.code}")
    if not await _speaks_for(session, offer.provider_id, from_number):
        logger.warning(
            "SMS reply for job %s from a number not of %s: rejected", offer.code, offer.provider_name
        )
        return ReplyOutcome(False, "not the provider's number")
    job = await _locked_job(session, offer.job_id)
    detail = await _apply(session, clock, job, offer, reply, options, entered_by)
    return ReplyOutcome(True, detail)


async def answer(
    *,
    session: AsyncSession,
    clock: Clock,
    offer_id: int,
    action: ReplyAction,
    options: SmsOptions,
    entered_by: str,
) -> tuple[Offer, str]:
    """Apply an answer to this very offer as if its provider had replied by SMS (the job page's buttons):
    the same moves, claims and races as a reply. Returns the offer as it is now and what happened."""
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise NotFound(f"offer {offer_id} not found")
    job = await _locked_job(session, offer.job_id)
    await session.refresh(offer)
    detail = await _apply(session, clock, job, offer, Reply(action, offer.code), options, entered_by)
    return offer, detail


async def _apply(
    session: AsyncSession,
    clock: Clock,
    job: Job,
    offer: Offer,
    reply: Reply,
    options: SmsOptions,
    entered_by: str | None,
) -> str:
    now = clock.now()
    via: dict[str, Any] = {"via": entered_by} if entered_by else {}
    action = reply.action
    if action == ReplyAction.accept and await _move(
        session, clock, offer, OfferState.accepted, answered_at=now
    ):
        # Two providers accepting at the same moment (in two processes): the job row decides.
        if not await _move(session, clock, job, JobState.assigned):
            await _move(session, clock, offer, OfferState.withdrawn)
            await _tell_withdrawn(session, clock, job, offer, options)
            return "too late: the job was taken"
        await _timeline(
            session,
            clock,
            job,
            "offer_accepted",
            provider=offer.provider_name,
            provider_id=offer.provider_id,
            code=offer.code,
            **via,
        )
        await _withdraw_others(session, clock, job, offer, options)
        await _confirm(session, clock, job, offer, options)
        if job.order_id is not None:
            await order_progress.tell_elder_booked(
                session=session, clock=clock, order_id=job.order_id, options=options
            )
        return "accepted"
    if action == ReplyAction.decline and await _move(
        session, clock, offer, OfferState.declined, answered_at=now
    ):
        await _timeline(
            session, clock, job, "offer_declined", provider=offer.provider_name, code=offer.code, **via
        )
        await _offer_more(session, clock, job, options)
        return "declined"
    if action == ReplyAction.arrived and await _move(
        session, clock, offer, OfferState.arrived, arrived_at=now
    ):
        await _timeline(
            session, clock, job, "provider_arrived", provider=offer.provider_name, code=offer.code, **via
        )
        await _move_call(session, clock, job, CallState.on_scene)
        return "arrived"
    if action == ReplyAction.done and await _move(session, clock, offer, OfferState.done, done_at=now):
        await _move(session, clock, job, JobState.completed)
        await _timeline(
            session, clock, job, "provider_done", provider=offer.provider_name, code=offer.code, **via
        )
        return "done"
    if offer.state in CLOSED_OFFER_STATES:  # it went to someone else, or its time ran out, meanwhile
        await _tell_withdrawn(session, clock, job, offer, options)
        return f"job {offer.code} is no longer this provider's"
    await _send(
        session,
        clock,
        options,
        to=offer.provider_phone,
        body=render("help", options.language),
        purpose=SmsPurpose.help,
    )
    return f"{action.value} does not apply to a job that is {offer.state.value}"


# Which states each move starts from.
_MOVES_FROM: dict[Any, tuple[Any, ...]] = {
    OfferState.accepted: (OfferState.offered,),
    OfferState.declined: (OfferState.offered,),
    OfferState.withdrawn: (OfferState.offered, OfferState.accepted),
    OfferState.undeliverable: (OfferState.offered,),
    OfferState.arrived: (OfferState.accepted,),
    OfferState.done: (OfferState.accepted, OfferState.arrived),
    JobState.assigned: (JobState.offering,),
    JobState.completed: (JobState.assigned,),
}


async def _move(
    session: AsyncSession, clock: Clock, row: Job | Offer, to_state: OfferState | JobState, **values: Any
) -> bool:
    """Change a job's or offer's state only if it is still in a state that move starts from: a conditional
    UPDATE, so of two processes racing (two acceptances, an acceptance and the deadline) exactly one wins."""
    model = type(row)
    moved = await session.execute(
        update(model)
        .where(model.id == row.id, model.state.in_(_MOVES_FROM[to_state]))
        .values(state=to_state, updated_at=clock.now(), **values)
        .returning(model.id)
    )
    won = moved.scalar() is not None
    await session.refresh(row)
    return won


async def _withdraw_others(
    session: AsyncSession, clock: Clock, job: Job, taken: Offer, options: SmsOptions
) -> None:
    withdrawn = await session.scalars(
        update(Offer)
        .where(Offer.job_id == job.id, Offer.id != taken.id, Offer.state == OfferState.offered)
        .values(state=OfferState.withdrawn, updated_at=clock.now())
        .returning(Offer.id)
    )
    for offer_id in list(withdrawn):
        other = await session.get(Offer, offer_id, populate_existing=True)
        if other is not None:
            await _tell_withdrawn(session, clock, job, other, options)


async def _tell_withdrawn(
    session: AsyncSession, clock: Clock, job: Job, offer: Offer, options: SmsOptions
) -> None:
    body = render("withdraw", options.language, code=offer.code)
    await _send(
        session,
        clock,
        options,
        to=offer.provider_phone,
        body=body,
        purpose=SmsPurpose.withdraw,
        job=job,
        offer=offer,
    )


async def _confirm(session: AsyncSession, clock: Clock, job: Job, offer: Offer, options: SmsOptions) -> None:
    """The accepting provider gets what it needs to go: the elder's name, phone and exact place."""
    elder = await session.get(Elder, job.elder_id)
    if elder is None:
        return
    body = render(
        "confirm",
        options.language,
        code=offer.code,
        service=service_label(job.service_type, options.language),
        elder_name=elder.name,
        elder_phone=elder.phone or "-",
        address=job.address,
        lon=f"{job.lon:.6f}",
        lat=f"{job.lat:.6f}",
        map_link=map_link(job.lon, job.lat),
    )
    await _send(
        session,
        clock,
        options,
        to=offer.provider_phone,
        body=body,
        purpose=SmsPurpose.confirm,
        job=job,
        offer=offer,
    )


async def _move_call(session: AsyncSession, clock: Clock, job: Job, target: CallState) -> None:
    if job.call_id is None:
        return
    call = await calls_service.get(session=session, call_id=job.call_id)
    if call.state == CallState.dispatched:
        await calls_service.transition(
            session=session, clock=clock, actor=SYSTEM, call_id=call.id, target=target
        )


async def _speaks_for(session: AsyncSession, provider_id: int, number: str) -> bool:
    """The provider's own number or one of its active staff's."""
    provider = await session.get(Provider, provider_id)
    if provider is not None and provider.phone == number:
        return True
    staff = await session.scalar(
        select(ProviderStaff.id).where(
            ProviderStaff.provider_id == provider_id,
            ProviderStaff.phone == number,
            ProviderStaff.active.is_(True),
        )
    )
    return staff is not None


# ---------------------------------------------------------------- reading


async def offers_of(*, session: AsyncSession, job_id: int) -> list[Offer]:
    """A job's offers in the order they were made."""
    return list(await session.scalars(select(Offer).where(Offer.job_id == job_id).order_by(Offer.id)))


async def jobs_of_call(*, session: AsyncSession, call_id: int) -> list[tuple[Job, list[Offer]]]:
    """A call's jobs, oldest first, each with its offers."""
    jobs = await session.scalars(select(Job).where(Job.call_id == call_id).order_by(Job.id))
    return [(job, await offers_of(session=session, job_id=job.id)) for job in list(jobs)]


async def assigned_load(*, session: AsyncSession) -> dict[int, int]:
    """How many jobs each provider holds right now (accepted, not yet done)."""
    rows = await session.execute(
        select(Offer.provider_id, Offer.id).where(Offer.state.in_(tuple(ASSIGNED_OFFER_STATES)))
    )
    load: dict[int, int] = {}
    for provider_id, _ in rows:
        load[provider_id] = load.get(provider_id, 0) + 1
    return load


# ---------------------------------------------------------------- helpers


async def get_job(*, session: AsyncSession, job_id: int) -> Job:
    return await _job(session, job_id)


async def _job(session: AsyncSession, job_id: int) -> Job:
    job = await session.get(Job, job_id)
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


async def lock_job(*, session: AsyncSession, job_id: int) -> Job:
    """The job, locked for this transaction: what writes for one job (its evidence too) takes this first."""
    return await _locked_job(session, job_id)


async def _locked_job(session: AsyncSession, job_id: int) -> Job:
    """The job, locked for this transaction (PostgreSQL): whatever changes a job's offers takes the job
    first, so replies, deadlines and delivery failures of one job never deadlock on its offers."""
    job = await session.scalar(
        select(Job).where(Job.id == job_id).with_for_update().execution_options(populate_existing=True)
    )
    if job is None:
        raise NotFound(f"job {job_id} not found")
    return job


async def _offers(session: AsyncSession, job_id: int, state: OfferState) -> list[Offer]:
    return list(await session.scalars(select(Offer).where(Offer.job_id == job_id, Offer.state == state)))


async def _past_offer(session: AsyncSession, code: str, number: str) -> Offer | None:
    """The latest offer with this code, if it was made to the provider this number speaks for."""
    offer = await session.scalar(select(Offer).where(Offer.code == code).order_by(Offer.id.desc()).limit(1))
    if offer is None or not await _speaks_for(session, offer.provider_id, number):
        return None
    return offer


async def _offer_by_code(session: AsyncSession, code: str) -> Offer | None:
    return await session.scalar(
        select(Offer)
        .where(Offer.code == code, Offer.state.in_(LIVE_CODE_STATES))
        .order_by(Offer.id.desc())
        .limit(1)
    )


async def _send(
    session: AsyncSession,
    clock: Clock,
    options: SmsOptions,
    *,
    to: str,
    body: str,
    purpose: SmsPurpose,
    job: Job | None = None,
    offer: Offer | None = None,
) -> None:
    await sms.send(
        session=session,
        clock=clock,
        options=options,
        to=to,
        body=body,
        purpose=purpose,
        call_id=job.call_id if job else None,
        offer_id=offer.id if offer else None,
    )


async def _timeline(
    session: AsyncSession,
    clock: Clock,
    job: Job,
    kind: str,
    *,
    actor: Actor = SYSTEM,
    text: str = "",
    **detail: Any,
) -> None:
    if job.call_id is not None:
        await calls_service.record(
            session=session, clock=clock, actor=actor, call_id=job.call_id, kind=kind, text=text, **detail
        )
    if job.order_id is not None:
        await order_progress.job_step(
            session=session,
            clock=clock,
            actor=actor,
            order_id=job.order_id,
            kind=kind,
            text=text,
            detail=detail,
        )
