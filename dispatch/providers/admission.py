"""The admission criteria (准入条件) a provider must meet before it is activated (pure).

The admission record is a JSON dict on the provider: criterion -> {met, evidence, checked_by, checked_at}.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Any


class AdmissionCriterion(StrEnum):
    """One item of the admission checklist."""

    legal_registration = "legal_registration"
    staff = "staff"
    premises_equipment = "premises_equipment"
    service_items = "service_items"
    marked_prices = "marked_prices"
    public_commitments = "public_commitments"


ADMISSION_LABELS_ZH: dict[AdmissionCriterion, str] = {
    AdmissionCriterion.legal_registration: "依法登记注册",
    AdmissionCriterion.staff: "服务人员",
    AdmissionCriterion.premises_equipment: "服务场所和设备",
    AdmissionCriterion.service_items: "服务项目、内容和频次",
    AdmissionCriterion.marked_prices: "明码标价",
    AdmissionCriterion.public_commitments: "公开服务承诺",
}


def is_met(entry: object) -> bool:
    """Whether one stored checklist entry says the criterion is met."""
    return isinstance(entry, Mapping) and entry.get("met") is True


def missing(admission: Mapping[str, Any]) -> list[AdmissionCriterion]:
    """The criteria not recorded as met, in checklist order."""
    return [criterion for criterion in AdmissionCriterion if not is_met(admission.get(criterion.value))]


def with_check(
    admission: Mapping[str, Any],
    criterion: AdmissionCriterion,
    *,
    met: bool,
    evidence: str,
    checked_by: str,
    checked_at: datetime,
) -> dict[str, Any]:
    """A new admission record with one criterion checked (a new dict, so the ORM sees the change)."""
    entry = {"met": met, "evidence": evidence, "checked_by": checked_by, "checked_at": checked_at.isoformat()}
    return {**admission, criterion.value: entry}
