"""An assessment instrument read from its data file (`instruments/*.toml`) and checked as it is read: item
and option codes unique, each indicator's maximum the sum of its items', levels covering every total once,
rules naming known conditions. A revision of the standard or a local form is a new file, not new code."""

from __future__ import annotations

import functools
import tomllib
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, Field, computed_field, model_validator

CURRENT = "gbt-42195-2022"


class Text(BaseModel):
    zh: str
    en: str


class Option(BaseModel):
    code: str
    score: int = Field(ge=0)
    label: Text


class Item(BaseModel):
    code: str
    name: Text
    definition: str
    options: list[Option] = Field(min_length=2)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def max(self) -> int:
        return max(option.score for option in self.options)

    @model_validator(mode="after")
    def _codes_unique(self) -> Item:
        _unique([option.code for option in self.options], f"option codes of {self.code}")
        return self


class Indicator(BaseModel):
    code: str
    name: Text
    max: int
    items: list[Item] = Field(min_length=1)

    @model_validator(mode="after")
    def _max_is_the_sum(self) -> Indicator:
        summed = sum(item.max for item in self.items)
        if summed != self.max:
            raise ValueError(f"indicator {self.code}: its items add up to {summed}, not {self.max}")
        return self


class Level(BaseModel):
    level: int = Field(ge=0)
    min: int
    max: int
    name: Text


class Condition(BaseModel):
    code: str
    kind: Literal["flag", "count"]
    source: str
    name: Text
    categories: list[str] = []


class CountTest(BaseModel):
    condition: str
    at_least: int = Field(ge=1)


class Rule(BaseModel):
    """`set`: the level becomes `level`; `raise`: `by` levels higher. It applies when any flag of `if_any`
    is set or the count of `if_count` reaches its figure."""

    code: str
    effect: Literal["set", "raise"]
    level: int | None = None
    by: int = 1
    if_any: list[str] = []
    if_count: CountTest | None = None
    text: Text

    @model_validator(mode="after")
    def _complete(self) -> Rule:
        if self.effect == "set" and self.level is None:
            raise ValueError(f"rule {self.code}: a set rule needs its level")
        if not self.if_any and self.if_count is None:
            raise ValueError(f"rule {self.code}: it needs if_any or if_count")
        return self


class Instrument(BaseModel):
    code: str
    version: str
    title: Text
    levels: list[Level]
    conditions: list[Condition]
    rules: list[Rule]
    raises_stack: bool
    indicators: list[Indicator]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def max_total(self) -> int:
        return sum(indicator.max for indicator in self.indicators)

    @property
    def items(self) -> dict[str, Item]:
        return {item.code: item for indicator in self.indicators for item in indicator.items}

    @property
    def top_level(self) -> int:
        return max(level.level for level in self.levels)

    def level_of(self, total: int) -> int:
        """The level the standard reads from a total."""
        for level in self.levels:
            if level.min <= total <= level.max:
                return level.level
        raise ValueError(f"no level for a total of {total}")

    @model_validator(mode="after")
    def _consistent(self) -> Instrument:
        _unique([indicator.code for indicator in self.indicators], "indicator codes")
        _unique([item.code for indicator in self.indicators for item in indicator.items], "item codes")
        covered = sorted(total for level in self.levels for total in range(level.min, level.max + 1))
        if covered != list(range(self.max_total + 1)):
            raise ValueError(f"the levels must cover every total from 0 to {self.max_total} exactly once")
        known = {condition.code: condition.kind for condition in self.conditions}
        for rule in self.rules:
            flags = [known.get(code) for code in rule.if_any]
            if any(kind != "flag" for kind in flags):
                raise ValueError(f"rule {rule.code}: if_any names a condition that is not a known flag")
            if rule.if_count and known.get(rule.if_count.condition) != "count":
                raise ValueError(f"rule {rule.code}: if_count names a condition that is not a known count")
            if rule.level is not None and rule.level not in {level.level for level in self.levels}:
                raise ValueError(f"rule {rule.code}: no level {rule.level}")
        return self


def _unique(codes: list[str], what: str) -> None:
    repeated = sorted({code for code in codes if codes.count(code) > 1})
    if repeated:
        raise ValueError(f"{what} repeat: {', '.join(repeated)}")


def parse(text: str) -> Instrument:
    """An instrument from its TOML text (ValueError, pydantic's included, when it does not hold together)."""
    data = tomllib.loads(text)
    scales: dict[str, Any] = data.get("scales", {})
    indicators = [
        {**indicator, "items": [_item(item, scales) for item in indicator["items"]]}
        for indicator in data["indicators"]
    ]
    adjustments = data.get("adjustments", {})
    return Instrument.model_validate(
        {
            "code": data["code"],
            "version": data["version"],
            "title": data["title"],
            "levels": data["levels"],
            "conditions": data.get("conditions", []),
            "rules": adjustments.get("rules", []),
            "raises_stack": adjustments.get("raises_stack", False),
            "indicators": indicators,
        }
    )


def _item(item: dict[str, Any], scales: dict[str, Any]) -> dict[str, Any]:
    """An item with its options written out: its own, or its scale's; an option's code is its score unless
    the file gives one."""
    options = item.get("options") or scales[item["scale"]]["options"]
    return {
        "code": item["code"],
        "name": item["name"],
        "definition": item.get("definition", ""),
        "options": [
            {
                "code": str(option.get("code", option["score"])),
                "score": option["score"],
                "label": {"zh": option["zh"], "en": option["en"]},
            }
            for option in options
        ],
    }


@functools.cache
def load(name: str = CURRENT) -> Instrument:
    """The instrument in `instruments/<name>.toml`, read once."""
    text = resources.files(__package__).joinpath("instruments", f"{name}.toml").read_text(encoding="utf-8")
    return parse(text)
