"""Request bodies of the agents' seat states, outbound dialling and the in-call controls."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, model_validator

from dispatch.schemas import PhoneNumber, RowId


class AgentStateIn(BaseModel):
    state: Literal["ready", "away", "offline"]


class DialIn(BaseModel):
    """Ring the operator's phone, then `to`, into one recorded conference; linked where it was started."""

    to: PhoneNumber
    call_id: RowId | None = None
    follow_up_id: RowId | None = None
    care_call_id: RowId | None = None
    order_id: RowId | None = None
    complaint_id: RowId | None = None


class SwitchIn(BaseModel):
    on: bool


class AddPartyIn(BaseModel):
    """Exactly one of: a number, one of the elder's contacts, a provider, or the emergency number (120)."""

    to: PhoneNumber | None = None
    contact_id: RowId | None = None
    provider_id: RowId | None = None
    emergency_120: bool = False

    @model_validator(mode="after")
    def _exactly_one(self) -> AddPartyIn:
        given = [
            self.to is not None,
            self.contact_id is not None,
            self.provider_id is not None,
            self.emergency_120,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of: to, contact_id, provider_id, emergency_120")
        return self


class TransferIn(BaseModel):
    operator_id: RowId
