"""Scoring an assessment, a pure function of the instrument, the answers and the Appendix A facts: the
total, each indicator's score, the level the total gives, and the level after the change rules."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from dispatch.assessments.instrument import Instrument, Rule


class AnswersIncomplete(ValueError):
    """Some items are unanswered, or answered with an option the item does not have."""

    def __init__(self, missing: list[str], unknown: list[str]) -> None:
        self.missing = missing
        self.unknown = unknown
        parts = [f"unanswered: {', '.join(missing)}"] if missing else []
        parts += [f"not an option of: {', '.join(unknown)}"] if unknown else []
        super().__init__("; ".join(parts))


@dataclass(frozen=True)
class Findings:
    """The facts of Appendix A the change rules read: flags that hold (coma, a diagnosis) and counts (care-risk
    events in the last 30 days, over all their categories)."""

    flags: frozenset[str] = frozenset()
    counts: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scored:
    total: int
    indicator_scores: dict[str, int]
    initial_level: int  # from the total alone
    level: int  # after the change rules
    applied: tuple[str, ...]  # the codes of the rules that changed it


def score(instrument: Instrument, answers: Mapping[str, str], findings: Findings = Findings()) -> Scored:
    """Score complete answers (`{item code: option code}`); AnswersIncomplete when they are not."""
    items = instrument.items
    missing = [code for code in items if code not in answers]
    unknown = [
        code
        for code, option in answers.items()
        if code not in items or option not in {o.code for o in items[code].options}
    ]
    if missing or unknown:
        raise AnswersIncomplete(missing, unknown)
    indicator_scores = {
        indicator.code: sum(_score_of(item.code, answers[item.code], instrument) for item in indicator.items)
        for indicator in instrument.indicators
    }
    total = sum(indicator_scores.values())
    initial = instrument.level_of(total)
    level, applied = adjust(instrument, initial, findings)
    return Scored(total, indicator_scores, initial, level, applied)


def adjust(instrument: Instrument, initial: int, findings: Findings) -> tuple[int, tuple[str, ...]]:
    """The level after the change rules: a `set` rule decides alone; raises add up only if the instrument
    says so (else one raise, the largest); never above the top level."""
    holding = [rule for rule in instrument.rules if _holds(rule, findings)]
    setting = [rule for rule in holding if rule.effect == "set" and rule.level is not None]
    if setting:
        return max(rule.level for rule in setting if rule.level is not None), tuple(r.code for r in setting)
    raises = [rule for rule in holding if rule.effect == "raise"]
    if not raises:
        return initial, ()
    by = sum(rule.by for rule in raises) if instrument.raises_stack else max(rule.by for rule in raises)
    return min(instrument.top_level, initial + by), tuple(rule.code for rule in raises)


def _holds(rule: Rule, findings: Findings) -> bool:
    if any(flag in findings.flags for flag in rule.if_any):
        return True
    test = rule.if_count
    return test is not None and findings.counts.get(test.condition, 0) >= test.at_least


def _score_of(item_code: str, option_code: str, instrument: Instrument) -> int:
    return next(o.score for o in instrument.items[item_code].options if o.code == option_code)
