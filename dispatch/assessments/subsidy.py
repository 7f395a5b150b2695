"""The elder-care allowance (养老服务补贴) an assessment supports: for elders whose ability is at least
moderately impaired (level 2+) and who are economically in difficulty (低保, 特困, 低收入), by level, in fen
a month. The review proposes it or not (the bureau decides, the public notice follows); this is what the
rules suggest, and the amount the payment side reads once the result is final.

DECIDED: the amounts and shares are this platform's starting point, as the seed leaves them to local policy
("可根据评估结果发放不同标准的养老服务补贴"); a city sets its own here."""

from __future__ import annotations

from dataclasses import dataclass

from dispatch.assessments.needs import Economic

MONTHLY_FEN_BY_LEVEL: dict[int, int] = {2: 10_000, 3: 20_000, 4: 30_000}
SHARE_PERCENT: dict[Economic, int] = {
    Economic.subsistence_allowance: 100,
    Economic.extreme_poverty: 100,
    Economic.low_income: 50,
    Economic.ordinary: 0,
}


@dataclass(frozen=True)
class Allowance:
    suggested: bool  # the rules support proposing it
    monthly_fen: int  # what it comes to (0 when not suggested)


def allowance(level: int | None, economic: Economic | None) -> Allowance:
    """What the level and the economic situation support."""
    full = MONTHLY_FEN_BY_LEVEL.get(level or 0, 0)
    share = SHARE_PERCENT.get(economic, 0) if economic else 0
    monthly = full * share // 100
    return Allowance(suggested=monthly > 0, monthly_fen=monthly)
