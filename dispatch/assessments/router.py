"""`GET /api/v1/assessment-instrument`: the form the assessors fill in and the console shows (items, options
and scores, levels, change rules), in both languages."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import SignedInActor
from dispatch.assessments.instrument import Instrument, load

router = APIRouter(prefix="/api/v1", tags=["assessments"])


@router.get("/assessment-instrument", response_model=Instrument)
async def assessment_instrument(actor: SignedInActor) -> Instrument:
    """The instrument in use (GB/T 42195-2022): every signed-in operator, assessors too, may read the form."""
    return load()
