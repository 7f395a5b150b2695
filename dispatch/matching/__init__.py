"""Matching (派单): rank the providers that can serve an elder, and say why the others cannot (pure)."""

from dispatch.matching.hours import LOCAL_TZ, WorkingWindow, is_open
from dispatch.matching.index import ProviderIndex
from dispatch.matching.ranking import (
    Candidate,
    Exclusion,
    ExclusionReason,
    MatchRequest,
    MatchResult,
    MeasuredFrom,
    RankedProvider,
    match_brute_force,
)

__all__ = [
    "LOCAL_TZ",
    "Candidate",
    "Exclusion",
    "ExclusionReason",
    "MatchRequest",
    "MatchResult",
    "MeasuredFrom",
    "ProviderIndex",
    "RankedProvider",
    "WorkingWindow",
    "is_open",
    "match_brute_force",
]
