"""Types shared by the API schemas of every domain: pages, coordinates, phones, areas, masking."""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

import phonenumbers
from pydantic import AfterValidator, BaseModel, Field

from dispatch import geo

Longitude = Annotated[float, Field(ge=-180.0, le=180.0, description="WGS84 longitude in degrees")]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0, description="WGS84 latitude in degrees")]


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list: `{"items": [...], "total": N}`."""

    items: list[T]
    total: int


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
