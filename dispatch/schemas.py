"""Types shared by the API schemas of every domain: pages, coordinates, phones, areas, masking."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Generic, Self, TypeVar

import phonenumbers
from annotated_types import Interval
from pydantic import AfterValidator, BaseModel, Field, model_validator

from dispatch import geo

# PostgreSQL's integer (SQLite's is wider): an id past it names no row, and the database would refuse the query.
MAX_ROW_ID = 2**31 - 1
RowId = Annotated[int, Interval(ge=1, le=MAX_ROW_ID)]

Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude in degrees")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude in degrees")]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `{"items": [...], "total": N}`."""

    items: list[T]
    total: int


class PartialUpdate(BaseModel):
    """A PATCH body: a field left out stays as it is; null clears a field only where `clearable` allows."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @model_validator(mode="after")
    def _null_only_where_clearable(self) -> Self:
        refused = sorted(
            name for name in self.model_fields_set - self.clearable if getattr(self, name) is None
        )
        if refused:
            raise ValueError(f"cannot be cleared (leave it out to keep it): {', '.join(refused)}")
        return self


class LonLat(BaseModel):
    """A WGS84 position."""

    lon: Longitude
    lat: Latitude


def normalise_phone(value: str) -> str:
    """A Chinese mobile or landline (or an international number with +) in E.164 form."""
    try:
        number = phonenumbers.parse(value, "CN")
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not a phone number: {value!r}") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValueError(f"not a valid phone number: {value!r}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


PhoneNumber = Annotated[str, Field(max_length=32), AfterValidator(normalise_phone)]


def _valid_area(value: dict[str, Any]) -> dict[str, Any]:
    geo.parse_area(value)
    return value


GeoArea = Annotated[
    dict[str, Any],
    AfterValidator(_valid_area),
    Field(
        description='GeoJSON Polygon or MultiPolygon, e.g. {"type": "Polygon", "coordinates": [[[lon, lat], ...]]}'
    ),
]


def mask_id_number(id_number: str) -> str:
    """Region code and last four digits only: 350102********123X."""
    if len(id_number) <= 10:
        return "*" * len(id_number)
    return id_number[:6] + "*" * (len(id_number) - 10) + id_number[-4:]


def mask_phone(phone: str | None) -> str | None:
    """The national number with its middle digits hidden: 138****5678."""
    if not phone:
        return phone
    national = phone.removeprefix("+86")
    if len(national) <= 7:
        return "*" * len(national)
    return national[:3] + "*" * (len(national) - 7) + national[-4:]
