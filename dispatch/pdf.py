"""PDFs in Chinese: reportlab with Noto Sans SC embedded from the console's npm font (converted from WOFF
once), and the paragraph styles every printed document shares."""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont as FontToolsFont
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import Flowable, SimpleDocTemplate

from dispatch.console.static import NODE_MODULES

FONT = "NotoSansSC"
FONT_FILE = NODE_MODULES / "@fontsource/noto-sans-sc/files/noto-sans-sc-chinese-simplified-400-normal.woff"


def _truetype(woff: Path) -> io.BytesIO:
    if not woff.exists():
        raise RuntimeError(
            f"{woff} is missing: install the project (its build installs the console's npm assets)"
        )
    font = FontToolsFont(str(woff))
    font.flavor = None  # WOFF -> plain TrueType
    unpacked = io.BytesIO()
    font.save(unpacked)
    unpacked.seek(0)
    return unpacked


@cache
def pdf_styles() -> dict[str, ParagraphStyle]:
    pdfmetrics.registerFont(TTFont(FONT, _truetype(FONT_FILE)))
    body = ParagraphStyle("body", fontName=FONT, fontSize=10.5, leading=14, wordWrap="CJK")
    return {
        "title": ParagraphStyle("title", parent=body, fontSize=18, leading=26, alignment=1, spaceAfter=6),
        "heading": ParagraphStyle("heading", parent=body, fontSize=12.5, leading=18, spaceBefore=4),
        "body": body,
    }


def render_pdf(story: list[Flowable], *, title: str, margin_mm: float = 18) -> bytes:
    """An A4 document of these flowables, as bytes."""
    out = io.BytesIO()
    margin = margin_mm * mm
    document = SimpleDocTemplate(
        out, pagesize=A4, leftMargin=margin, rightMargin=margin, topMargin=margin, bottomMargin=margin,
        title=title, author="12349",
    )  # fmt: skip
    document.build(story)
    return out.getvalue()
