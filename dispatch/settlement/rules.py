"""Pure rules of a statement: the quality deduction by score band, and the amounts it comes to.

DECIDED: the quality score is the provider's Bayesian satisfaction rating (1-5) on a 100-point scale
(x 20; a provider without scores sits at the prior), since the platform rates providers that way; the
bands follow the issue's example (80+: paid in full, 70-79: 5 % less, below 70: 10 % less) and are a
setting. Each upheld complaint about the provider in the month is a fixed deduction on top."""

from __future__ import annotations

from dataclasses import dataclass

Bands = tuple[tuple[int, int], ...]  # (lowest score, percent deducted), highest score first


def parse_bands(text: str) -> Bands:
    """ "80:0,70:5,0:10" -> ((80, 0), (70, 5), (0, 10)); the lowest band must start at 0."""
    bands = tuple(
        sorted(
            ((int(a), int(b)) for a, b in (part.split(":") for part in text.split(",") if part)), reverse=True
        )
    )
    if not bands or bands[-1][0] != 0 or any(not 0 <= pct <= 100 for _, pct in bands):
        raise ValueError("deduction bands must cover scores from 0 and deduct 0-100 %")
    return bands


def quality_score(rating: float, rating_count: int, prior: float) -> int:
    return round((rating if rating_count else prior) * 20)


def deduction_percent(score: int, bands: Bands) -> int:
    return next(pct for lowest, pct in bands if score >= lowest)


@dataclass(frozen=True)
class Amounts:
    gross_fen: int  # the evidenced services at their prices (net of reversed charges)
    refunds_fen: int  # refunds the provider bore (services charged, then refunded)
    quality_deduction_fen: int
    complaint_deduction_fen: int

    @property
    def net_fen(self) -> int:
        return max(
            self.gross_fen - self.refunds_fen - self.quality_deduction_fen - self.complaint_deduction_fen, 0
        )


def amounts(
    *, gross_fen: int, refunds_fen: int, percent: int, complaints_upheld: int, per_complaint_fen: int
) -> Amounts:
    """The quality deduction is a share of what the services earned after refunds, rounded down."""
    base = max(gross_fen - refunds_fen, 0)
    return Amounts(
        gross_fen=gross_fen,
        refunds_fen=refunds_fen,
        quality_deduction_fen=base * percent // 100,
        complaint_deduction_fen=min(complaints_upheld * per_complaint_fen, base - base * percent // 100),
    )
