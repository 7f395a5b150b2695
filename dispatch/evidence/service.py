"""Service evidence, one row per order: created at the provider's check-in (or the follow-up's confirmation),
each part written once under the row's lock, and evidenced once by one conditional UPDATE."""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from dispatch.clock import Clock
from dispatch.errors import NotFound, PayloadTooLarge, ValidationFailed
from dispatch.evidence import rules
from dispatch.evidence.models import CheckinFlag, ConfirmedBy, ServiceEvidence
from dispatch.orders.models import OrderState, ServiceOrder

COMPLETED_ORDER_STATES = (OrderState.completed, OrderState.followed_up)
EVIDENCE_DIR = "evidence"


async def get_for_order(*, session: AsyncSession, order_id: int) -> ServiceEvidence | None:
    return await session.scalar(select(ServiceEvidence).where(ServiceEvidence.order_id == order_id))


async def locked(
    *, session: AsyncSession, clock: Clock, order: ServiceOrder, offer_id: int | None
) -> ServiceEvidence:
    """The order's evidence row (made if missing), locked for this transaction: every writer takes it first,
    so two requests never both write one part, and the evidencing UPDATE sees what the other committed."""
    if await get_for_order(session=session, order_id=order.id) is None:
        now = clock.now()
        dialect = (await session.connection()).dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        await session.execute(  # made by another request meanwhile: theirs stands
            insert(ServiceEvidence)
            .values(
                order_id=order.id,
                offer_id=offer_id,
                provider_id=order.provider_id,
                items=[],
                code_attempts=0,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["order_id"])
        )
    evidence = await session.scalar(
        select(ServiceEvidence)
        .where(ServiceEvidence.order_id == order.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if evidence is None:
        raise NotFound(f"no evidence for order {order.id}")
    return evidence


def record_checkin(
    evidence: ServiceEvidence,
    clock: Clock,
    *,
    position: tuple[float, float] | None,
    accuracy_m: float | None,
    judged: rules.Checkin,
) -> bool:
    """Note the first check-in (a second one changes nothing); True if this was it."""
    if evidence.checkin_at is not None:
        return False
    evidence.checkin_at = evidence.updated_at = clock.now()
    evidence.checkin_lon, evidence.checkin_lat = position if position else (None, None)
    evidence.checkin_accuracy_m = accuracy_m if position else None
    evidence.checkin_distance_m, evidence.checkin_flag = judged.distance_m, judged.flag
    return True


def record_code(evidence: ServiceEvidence, clock: Clock, *, secret_key: str, code: str) -> None:
    evidence.code_hash = rules.code_hash(secret_key, evidence.order_id, code)
    evidence.code_sent_at = evidence.updated_at = clock.now()
    evidence.code_attempts = 0


def record_checkout(evidence: ServiceEvidence, clock: Clock) -> bool:
    """Note the first check-out; True if this was it."""
    if evidence.checkout_at is not None:
        return False
    evidence.checkout_at = evidence.updated_at = clock.now()
    return True


def record_items(evidence: ServiceEvidence, clock: Clock, items: list[dict[str, Any]]) -> None:
    evidence.items = items
    evidence.updated_at = clock.now()


def confirm(evidence: ServiceEvidence, clock: Clock, by: ConfirmedBy) -> bool:
    """The elder's confirmation (the first one counts); True if this was it."""
    if evidence.confirmed_at is not None:
        return False
    evidence.confirmed_at = evidence.updated_at = clock.now()
    evidence.confirmed_by = by
    return True


@dataclass(frozen=True, slots=True)
class CodeCheck:
    """What one typed code did: confirmed, wrong (with the attempts left), or not even checked because too
    many wrong ones came before (`locked`)."""

    confirmed: bool
    attempts_left: int
    locked: bool


def check_code(
    evidence: ServiceEvidence, clock: Clock, *, secret_key: str, code: str, max_attempts: int
) -> CodeCheck:
    """One attempt at the elder's code (the row is locked: attempts count exactly); locked after
    `max_attempts` wrong ones."""
    if evidence.confirmed_at is not None:
        return CodeCheck(confirmed=True, attempts_left=max_attempts - evidence.code_attempts, locked=False)
    if evidence.code_hash is None:
        raise ValidationFailed("no code was sent for this order: check in first", reason="check_in_first")
    if evidence.code_attempts >= max_attempts:
        return CodeCheck(confirmed=False, attempts_left=0, locked=True)
    evidence.code_attempts += 1
    evidence.updated_at = clock.now()
    if rules.code_matches(secret_key, evidence.order_id, code, evidence.code_hash):
        confirm(evidence, clock, ConfirmedBy.code)
        return CodeCheck(confirmed=True, attempts_left=max_attempts - evidence.code_attempts, locked=False)
    left = max_attempts - evidence.code_attempts
    return CodeCheck(confirmed=False, attempts_left=left, locked=False)


async def mark_evidenced(*, session: AsyncSession, clock: Clock, evidence: ServiceEvidence) -> bool:
    """Set `evidenced_at` if check-in, check-out and a confirmation are all there and it is not set yet: one
    conditional UPDATE, so of two processes only one ever wins. True for the winner."""
    await session.flush()
    now = clock.now()
    won = await session.execute(
        update(ServiceEvidence)
        .where(
            ServiceEvidence.id == evidence.id,
            ServiceEvidence.evidenced_at.is_(None),
            ServiceEvidence.checkin_at.is_not(None),
            ServiceEvidence.checkout_at.is_not(None),
            ServiceEvidence.confirmed_at.is_not(None),
        )
        .values(evidenced_at=now, updated_at=now)
        .returning(ServiceEvidence.id)
    )
    evidenced = won.scalar() is not None
    await session.refresh(evidence)
    return evidenced


# --- the photo -------------------------------------------------------------------------------------------


def _write_atomically(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".part-")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp_name, target)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


async def store_photo(
    evidence: ServiceEvidence, clock: Clock, *, data_dir: Path, data: bytes, max_bytes: int
) -> None:
    """Keep the photo under `DISPATCH_DATA_DIR/evidence/<order>/` if it is a JPEG, PNG or WebP (by its bytes)
    within the size limit; it is only ever served to logged-in supervisors."""
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"the photo is over {max_bytes} bytes", params={"max_bytes": max_bytes})
    kind = rules.image_kind(data)
    if kind is None:
        raise ValidationFailed("the photo must be a JPEG, PNG or WebP image", reason="not_an_image")
    content_type, suffix = kind
    now = clock.now()
    relative = f"{EVIDENCE_DIR}/{evidence.order_id}/{now:%Y%m%dT%H%M%S%f}{suffix}"
    await asyncio.to_thread(_write_atomically, data_dir / relative, data)
    evidence.photo_path, evidence.photo_type, evidence.updated_at = relative, content_type, now


def photo_file(evidence: ServiceEvidence, data_dir: Path) -> Path | None:
    """The stored photo's file, if there is one and it is still there."""
    if evidence.photo_path is None:
        return None
    path = (data_dir / evidence.photo_path).resolve()
    if not path.is_relative_to((data_dir / EVIDENCE_DIR).resolve()) or not path.is_file():
        return None
    return path


# --- the supervisors' list -------------------------------------------------------------------------------


def _listed(state: str) -> Select[ServiceOrder, ServiceEvidence]:
    query = select(ServiceOrder, ServiceEvidence).outerjoin(
        ServiceEvidence, ServiceEvidence.order_id == ServiceOrder.id
    )
    if state == "evidenced":
        return query.where(ServiceEvidence.evidenced_at.is_not(None))
    if state == "flagged":
        return query.where(ServiceEvidence.checkin_flag.is_not(None))
    return query.where(ServiceOrder.state.in_(COMPLETED_ORDER_STATES), ServiceEvidence.evidenced_at.is_(None))


async def list_evidence(
    *, session: AsyncSession, state: str, limit: int, offset: int
) -> tuple[list[tuple[ServiceOrder, ServiceEvidence | None]], int]:
    """Orders by their evidence: completed but `unevidenced` (to review, not pay), `evidenced`, or `flagged`
    (a far or position-less check-in); newest order first."""
    query = _listed(state)
    total = await session.scalar(select(func.count()).select_from(query.subquery()))
    rows = await session.execute(
        query.order_by(ServiceOrder.window_start.desc(), ServiceOrder.id.desc()).limit(limit).offset(offset)
    )
    return [(row[0], row[1]) for row in rows], int(total or 0)


def missing_parts(evidence: ServiceEvidence | None) -> list[str]:
    """What the evidence still lacks: check_in, check_out, confirmation."""
    if evidence is None:
        return ["check_in", "check_out", "confirmation"]
    parts = {
        "check_in": evidence.checkin_at,
        "check_out": evidence.checkout_at,
        "confirmation": evidence.confirmed_at,
    }
    return [name for name, at in parts.items() if at is None]


def flag_of(evidence: ServiceEvidence | None) -> CheckinFlag | None:
    return None if evidence is None else evidence.checkin_flag


def evidenced_at(evidence: ServiceEvidence | None) -> datetime | None:
    return None if evidence is None else evidence.evidenced_at
