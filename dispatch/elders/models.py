"""Elders, their health records, contacts and devices (seed system 2, 老年人基本信息和健康档案系统)."""

from __future__ import annotations

from datetime import date, datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.db.base import Base, JSONType, enum_type


class Sex(StrEnum):
    male = "male"
    female = "female"


class HukouType(StrEnum):
    urban = "urban"
    rural = "rural"


class ElderStatus(StrEnum):
    active = "active"
    moved_out = "moved_out"
    deceased = "deceased"


class SubsidyCategory(StrEnum):
    """Subsidised groups of the tender (001:1664-1666), plus self-paying elders."""

    extreme_poverty = "extreme_poverty"  # 特困
    minimum_living = "minimum_living"  # 低保
    registered_poor = "registered_poor"  # 建档立卡
    special_care = "special_care"  # 重点优抚
    family_planning_special = "family_planning_special"  # 计划生育特殊家庭
    severe_disability = "severe_disability"  # 重度残疾
    aged_80_plus = "aged_80_plus"  # 80周岁以上
    self_paying = "self_paying"  # 自费


class AbilityLevel(IntEnum):
    """GB/T 42195-2022 ability levels."""

    intact = 0
    mild = 1
    moderate = 2
    severe = 3
    total_loss = 4


class BloodType(StrEnum):
    a = "A"
    b = "B"
    ab = "AB"
    o = "O"
    a_neg = "A-"
    b_neg = "B-"
    ab_neg = "AB-"
    o_neg = "O-"
    unknown = "unknown"


class ContactKind(StrEnum):
    relative = "relative"
    community_worker = "community_worker"  # 助老员
    doctor = "doctor"
    neighbour = "neighbour"
    other = "other"


class DeviceKind(StrEnum):
    watch = "watch"
    phone = "phone"
    app = "app"


class DeviceStatus(StrEnum):
    active = "active"
    disabled = "disabled"


class Elder(Base):
    """A registered older person living at home."""

    __tablename__ = "elder"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    sex: Mapped[Sex] = mapped_column(enum_type(Sex))
    birth_date: Mapped[date]
    id_number: Mapped[str] = mapped_column(String(18), unique=True)
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    hukou_type: Mapped[HukouType] = mapped_column(enum_type(HukouType))
    hukou_address: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(32), index=True)
    street: Mapped[str] = mapped_column(String(32))
    community: Mapped[str] = mapped_column(String(64), index=True)
    address: Mapped[str] = mapped_column(String(200))
    home_lon: Mapped[float] = mapped_column(Float)
    home_lat: Mapped[float] = mapped_column(Float)
    safe_area: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    household: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    living_alone: Mapped[bool] = mapped_column(default=False)
    empty_nest: Mapped[bool] = mapped_column(default=False)
    physical_condition: Mapped[str] = mapped_column(Text, default="")
    economic_condition: Mapped[str] = mapped_column(Text, default="")
    subsidy_categories: Mapped[list[str]] = mapped_column(JSONType, default=list)
    hobbies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    dialect: Mapped[str] = mapped_column(String(32), default="")
    # Per-elder alarm settings over the defaults (dispatch.calls.conditions), e.g.
    # {"heart_rate": {"raise_after_readings": 2}, "geofence": {"clear_margin": 100}, "quiet_hours": "21:00-06:30"}
    alarm_overrides: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    status: Mapped[ElderStatus] = mapped_column(enum_type(ElderStatus), default=ElderStatus.active)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    health: Mapped[HealthRecord | None] = relationship(
        back_populates="elder", uselist=False, lazy="raise", cascade="all, delete-orphan"
    )
    contacts: Mapped[list[Contact]] = relationship(
        back_populates="elder",
        lazy="raise",
        order_by="(Contact.priority, Contact.id)",
        cascade="all, delete-orphan",
    )
    devices: Mapped[list[Device]] = relationship(back_populates="elder", lazy="raise", order_by="Device.id")


class ElderSearchKey(Base):
    """One way to find an elder by a typed prefix (dispatch/elders/search_keys.py); "C" collation in
    PostgreSQL so that the key range compares bytes, as SQLite does."""

    __tablename__ = "elder_search_key"

    key: Mapped[str] = mapped_column(
        String(64).with_variant(String(64, collation="C"), "postgresql"), primary_key=True
    )
    elder_id: Mapped[int] = mapped_column(
        ForeignKey("elder.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class HealthRecord(Base):
    """An elder's health file (健康档案); one per elder."""

    __tablename__ = "health_record"

    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), primary_key=True)
    conditions: Mapped[list[str]] = mapped_column(JSONType, default=list)
    medications: Mapped[list[dict[str, Any]]] = mapped_column(JSONType, default=list)
    allergies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    blood_type: Mapped[BloodType] = mapped_column(enum_type(BloodType), default=BloodType.unknown)
    self_care_ability: Mapped[int] = mapped_column(default=AbilityLevel.intact)
    pension_insurance: Mapped[str] = mapped_column(String(64), default="")
    medical_insurance: Mapped[str] = mapped_column(String(64), default="")
    other_subsidies: Mapped[list[str]] = mapped_column(JSONType, default=list)
    ageing_indicators: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    vitals_thresholds: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime]

    elder: Mapped[Elder] = relationship(back_populates="health", lazy="raise")


class Contact(Base):
    """Someone to call for an elder, in call order (lowest priority number first)."""

    __tablename__ = "contact"

    id: Mapped[int] = mapped_column(primary_key=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), index=True)
    priority: Mapped[int]
    name: Mapped[str] = mapped_column(String(64))
    kind: Mapped[ContactKind] = mapped_column(enum_type(ContactKind))
    relation: Mapped[str] = mapped_column(String(32), default="")
    phone: Mapped[str] = mapped_column(String(20))
    notes: Mapped[str] = mapped_column(Text, default="")

    elder: Mapped[Elder] = relationship(back_populates="contacts", lazy="raise")


class Device(Base):
    """A wearable or phone bound to one elder, identified by IMEI or device id."""

    __tablename__ = "device"

    id: Mapped[int] = mapped_column(primary_key=True)
    imei: Mapped[str] = mapped_column(String(32), unique=True)
    elder_id: Mapped[int] = mapped_column(ForeignKey("elder.id", ondelete="CASCADE"), index=True)
    kind: Mapped[DeviceKind] = mapped_column(enum_type(DeviceKind))
    secret: Mapped[str] = mapped_column(String(512))  # sealed (dispatch/ingest/secrets.py), never plain
    # The SIM's number: it dials the hotline.
    phone: Mapped[str | None] = mapped_column(String(20), index=True)
    status: Mapped[DeviceStatus] = mapped_column(enum_type(DeviceStatus), default=DeviceStatus.active)
    heartbeat_interval_s: Mapped[int] = mapped_column(default=600)
    firmware: Mapped[str | None] = mapped_column(String(64))
    battery: Mapped[int | None]
    last_seen_at: Mapped[datetime | None]
    last_lon: Mapped[float | None] = mapped_column(Float)
    last_lat: Mapped[float | None] = mapped_column(Float)
    last_fixed: Mapped[bool | None]
    last_position_at: Mapped[datetime | None]
    # Not heard from by this time (missed heartbeats) = silent; None until the device is first heard.
    silent_deadline_at: Mapped[datetime | None] = mapped_column(index=True)
    silent_since: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    elder: Mapped[Elder] = relationship(back_populates="devices", lazy="raise")
