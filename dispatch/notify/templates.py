"""Message texts live in files (`templates/<name>.<lang>.txt`, `$placeholders`), not in code; a text missing
in the requested language falls back to English."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

FALLBACK_LANGUAGE = "en"


@cache
def _template(name: str, language: str) -> Template | None:
    path = resources.files("dispatch.notify").joinpath("templates", f"{name}.{language}.txt")
    if not path.is_file():
        return None
    return Template(path.read_text(encoding="utf-8").strip())


def render(name: str, language: str, **values: object) -> str:
    """The text of template `name` in `language` (else English) with its placeholders filled in."""
    template = _template(name, language) or _template(name, FALLBACK_LANGUAGE)
    if template is None:
        raise LookupError(f"no message template {name!r}")
    return template.substitute({key: str(value) for key, value in values.items()})
