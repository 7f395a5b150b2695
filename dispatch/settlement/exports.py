"""Statements and claims as files: XLSX for the tables (openpyxl), a Chinese PDF for the statement a
provider signs (reportlab, the shared CJK font). Amounts are written in yuan with two decimals, computed
from integer fen."""

from __future__ import annotations

import io
from collections import defaultdict

from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

from dispatch.catalog import SERVICE_TYPE_LABELS_ZH
from dispatch.money import yuan
from dispatch.pdf import pdf_styles, render_pdf
from dispatch.settlement.lines import ServiceLine
from dispatch.settlement.models import Settlement

LINE_HEADER = ["工单号", "服务日期", "老人", "服务项目", "价格(元)", "补贴(元)", "自付(元)"]
STATE_ZH = {"draft": "草稿", "approved": "已审核", "paid": "已支付"}


def masked_name(name: str) -> str:
    """陈秀英 -> 陈*英; a provider's statement needs the order number, not the elder's whole name."""
    return (
        name
        if len(name) < 2
        else name[0] + "*" * (len(name) - 2) + name[-1]
        if len(name) > 2
        else name[0] + "*"
    )


def _line_row(line: ServiceLine) -> list[object]:
    return [
        line.order_id,
        line.day.isoformat(),
        masked_name(line.elder_name),
        SERVICE_TYPE_LABELS_ZH[line.service_type],
        yuan(line.price_fen),
        yuan(line.subsidy_fen),
        yuan(line.self_pay_fen),
    ]


def summary_rows(statement: Settlement) -> list[list[str]]:
    return [
        ["服务商", statement.provider_name],
        ["结算月份", statement.month],
        ["状态", STATE_ZH[statement.state.value]],
        ["有效服务次数", str(statement.services)],
        ["服务金额(元)", yuan(statement.gross_fen)],
        ["其中政府补贴(元)", yuan(statement.subsidy_fen)],
        ["其中个人自付(元)", yuan(statement.self_pay_fen)],
        ["服务商承担退款(元)", yuan(statement.refunds_fen)],
        ["质量评分", str(statement.quality_score)],
        [f"质量扣减 {statement.quality_deduction_percent}%(元)", yuan(statement.quality_deduction_fen)],
        [f"投诉属实 {statement.complaints_upheld} 件扣减(元)", yuan(statement.complaint_deduction_fen)],
        ["应付金额(元)", yuan(statement.net_fen)],
    ]


def statement_xlsx(statement: Settlement, lines: list[ServiceLine]) -> bytes:
    book = Workbook()
    summary = book.active
    assert summary is not None  # noqa: S101 - a new workbook always has its first sheet
    summary.title = "结算汇总"
    for row in summary_rows(statement):
        summary.append(row)
    details = book.create_sheet("服务明细")
    details.append(LINE_HEADER)
    for line in lines:
        details.append(_line_row(line))
    return _saved(book)


def statement_pdf(statement: Settlement, lines: list[ServiceLine]) -> bytes:
    styles = pdf_styles()
    body = styles["body"]
    story = [
        Paragraph("居家养老服务结算单", styles["title"]),
        _table([[Paragraph(c, body) for c in row] for row in summary_rows(statement)], [60 * mm, 110 * mm]),
        Spacer(1, 4 * mm),
        Paragraph("服务明细", styles["heading"]),
        _table(
            [
                [Paragraph(str(c), body) for c in row]
                for row in [list[object](LINE_HEADER), *(_line_row(line) for line in lines)]
            ],
            [20 * mm, 24 * mm, 22 * mm, 26 * mm, 26 * mm, 26 * mm, 26 * mm],
        ),
        Spacer(1, 8 * mm),
        Paragraph("服务商签章：　　　　　　　　审核人：　　　　　　　　日期：", body),
    ]
    return render_pdf(story, title=f"服务商结算单 {statement.provider_name} {statement.month}", margin_mm=15)


def _table(cells: list[list[Paragraph]], widths: list[float]) -> Table:
    table = Table(cells, colWidths=widths, repeatRows=1)
    table.setStyle(
        TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "MIDDLE")])
    )
    return table


def claim_xlsx(district: str, month: str, lines: list[ServiceLine]) -> bytes:
    """The bureau's claim: a summary per elder and every subsidised service behind it (full ID numbers:
    the bureau checks them against its own register; the download is audited)."""
    book = Workbook()
    summary = book.active
    assert summary is not None  # noqa: S101 - a new workbook always has its first sheet
    summary.title = "补贴申领汇总"
    summary.append([f"{district} {month} 居家养老服务补贴申领"])
    summary.append(["老人", "身份证号", "服务次数", "补贴合计(元)"])
    counts: dict[tuple[str, str], int] = defaultdict(int)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    subsidised = [line for line in lines if line.subsidy_fen]
    for line in subsidised:
        counts[(line.elder_name, line.id_number)] += 1
        totals[(line.elder_name, line.id_number)] += line.subsidy_fen
    for name, id_number in sorted(counts, key=lambda elder: elder[1]):
        summary.append([name, id_number, counts[(name, id_number)], yuan(totals[(name, id_number)])])
    summary.append(["合计", "", len(subsidised), yuan(sum(line.subsidy_fen for line in subsidised))])
    details = book.create_sheet("服务明细")
    details.append(
        ["工单号", "服务日期", "老人", "身份证号", "服务项目", "服务商编号", "价格(元)", "补贴(元)"]
    )
    for line in subsidised:
        details.append(
            [
                line.order_id,
                line.day.isoformat(),
                line.elder_name,
                line.id_number,
                SERVICE_TYPE_LABELS_ZH[line.service_type],
                line.provider_id,
                yuan(line.price_fen),
                yuan(line.subsidy_fen),
            ]
        )
    return _saved(book)


def _saved(book: Workbook) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
