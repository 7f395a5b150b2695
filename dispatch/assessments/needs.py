"""The needs part of an assessment (服务需求): which services the elder wants and how often, who cares for
them now, how they live and in what housing, and their economic situation, as the seed's assessment
content lists them (居住状况: 孤寡、独居、与配偶同住、与子女同住、与亲友同住; 经济状况: 低保、低收入 ...).
Every field may be left out while the form is a draft."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, Field

from dispatch.catalog import ServiceType


class Living(StrEnum):
    alone_without_family = "alone_without_family"  # 孤寡
    alone = "alone"  # 独居
    with_spouse = "with_spouse"
    with_children = "with_children"
    with_relatives_or_friends = "with_relatives_or_friends"


class Carer(StrEnum):
    nobody = "nobody"
    spouse = "spouse"
    children = "children"
    other_relative = "other_relative"
    paid_carer = "paid_carer"
    neighbour_or_volunteer = "neighbour_or_volunteer"


class Economic(StrEnum):
    subsistence_allowance = "subsistence_allowance"  # 低保
    extreme_poverty = "extreme_poverty"  # 特困 (城镇三无、农村五保)
    low_income = "low_income"  # 低收入
    ordinary = "ordinary"


class TimeOfDay(StrEnum):
    morning = "morning"
    midday = "midday"
    afternoon = "afternoon"
    evening = "evening"


class ServiceNeed(BaseModel):
    service_type: ServiceType
    per_week: int = Field(ge=0, le=21)
    preferred: list[TimeOfDay] = Field(default_factory=list, max_length=4)


class Needs(BaseModel):
    services: list[ServiceNeed] = Field(default_factory=list, max_length=len(ServiceType))
    living: Living | None = None
    carer: Carer | None = None
    economic: Economic | None = None
    step_free_access: bool | None = None  # can the elder leave and move about the home without steps
    housing_notes: str = Field(default="", max_length=500)
    notes: str = Field(default="", max_length=2000)
