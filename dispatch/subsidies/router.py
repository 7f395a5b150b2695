"""The elder's allowance (GET /elders/{id}/allowance). Thin: the rules are in `service`."""

from __future__ import annotations

from fastapi import APIRouter

from dispatch.api.deps import ClockDep, CurrentActor, SessionDep, SettingsDep
from dispatch.elders.models import Elder
from dispatch.errors import NotFound
from dispatch.ledger import accounts, posting
from dispatch.payments.service import prepaid_cap
from dispatch.schemas import RowId
from dispatch.subsidies import service
from dispatch.subsidies.schemas import AllowanceRead

router = APIRouter(prefix="/api/v1", tags=["subsidies"])


@router.get("/elders/{elder_id}/allowance", response_model=AllowanceRead)
async def allowance(
    elder_id: RowId, session: SessionDep, clock: ClockDep, settings: SettingsDep, actor: CurrentActor
) -> AllowanceRead:
    """This month's allowance (by the policy in force today), what is spent and left, and the prepaid money."""
    elder = await session.get(Elder, elder_id)
    if elder is None:
        raise NotFound(f"elder {elder_id} not found", reason="elder_not_found")
    state = await service.month_state(session, clock, elder)
    prepaid = accounts.prepaid(elder.id)
    return AllowanceRead(
        elder_id=elder.id,
        month=state.month,
        policy=state.policy_id,
        entitled_by=state.entitled.source,
        monthly_fen=state.entitled.monthly_fen,
        share_percent=state.entitled.share_percent,
        carry_over=state.carry_over,
        spent_fen=state.spent_fen,
        left_fen=state.left_fen,
        prepaid_fen=accounts.shown(prepaid, await posting.balance(session, prepaid)),
        prepaid_cap_fen=await prepaid_cap(session, elder.id, settings.prepaid_cap_months),
    )
