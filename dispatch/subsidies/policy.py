"""Subsidy policy versions, read from `policies/*.toml` (one whole file per version, named and dated by the
day it applies from) and checked as they are read. The version in force on a service's day prices it."""

from __future__ import annotations

import functools
import tomllib
from datetime import date
from importlib import resources

from pydantic import BaseModel, Field, field_validator

from dispatch.catalog import ServiceType
from dispatch.elders.models import SubsidyCategory


class Entry(BaseModel):
    monthly_fen: int = Field(ge=0)
    share_percent: int = Field(ge=0, le=100)  # the government's part of an eligible service's price


class ServiceRule(BaseModel):
    cap_fen: int = Field(ge=0)  # at most this much subsidy a month for the service type


class Policy(BaseModel):
    id: str
    effective_from: date
    carry_over: bool
    categories: dict[SubsidyCategory, Entry]
    levels: dict[int, Entry]
    services: dict[ServiceType, ServiceRule]

    @field_validator("categories")
    @classmethod
    def _no_self_paying(cls, value: dict[SubsidyCategory, Entry]) -> dict[SubsidyCategory, Entry]:
        if SubsidyCategory.self_paying in value:
            raise ValueError("self-paying elders have no allowance")
        return value

    @field_validator("levels")
    @classmethod
    def _known_levels(cls, value: dict[int, Entry]) -> dict[int, Entry]:
        if any(level not in range(5) for level in value):
            raise ValueError("levels are 0-4 (GB/T 42195-2022)")
        return value


def parse(text: str) -> Policy:
    return Policy.model_validate(tomllib.loads(text))


@functools.cache
def versions() -> tuple[Policy, ...]:
    """Every version, oldest first; two versions may not start on the same day."""
    folder = resources.files(__package__).joinpath("policies")
    loaded = sorted(
        (parse(f.read_text(encoding="utf-8")) for f in folder.iterdir() if f.name.endswith(".toml")),
        key=lambda p: p.effective_from,
    )
    days = [p.effective_from for p in loaded]
    if len(set(days)) != len(days):
        raise ValueError("two subsidy policy versions start on the same day")
    return tuple(loaded)


def in_force(day: date, among: tuple[Policy, ...] | None = None) -> Policy | None:
    """The version that applies on `day` (None before the first one)."""
    applicable = [p for p in (among if among is not None else versions()) if p.effective_from <= day]
    return applicable[-1] if applicable else None
