"""The printable assessment report (老年人能力评估报告, after the standard's Appendix C): the elder, each
first-level indicator's score, the total, the level the total gives, the change rules applied and the final
level, the needs, the review's decision, and signature lines for both assessors, the information provider
and the reviewer.

Chinese text is set in Noto Sans SC, embedded (the glyphs used): the simplified-Chinese WOFF of the npm
package the console already installs (`@fontsource/noto-sans-sc`), unpacked to TrueType once per process.
(Adobe's non-embedded CID fonts were tried first: readers without them, pdfium among them, print nothing.)"""

from __future__ import annotations

from datetime import date

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from dispatch.assessments.instrument import Instrument
from dispatch.assessments.models import Assessment
from dispatch.assessments.needs import Needs
from dispatch.catalog import SERVICE_TYPE_LABELS_ZH
from dispatch.elders.models import Elder
from dispatch.elders.service import age_on
from dispatch.pdf import pdf_styles, render_pdf

SEX_ZH = {"male": "男", "female": "女"}
LIVING_ZH = {
    "alone_without_family": "孤寡",
    "alone": "独居",
    "with_spouse": "与配偶同住",
    "with_children": "与子女同住",
    "with_relatives_or_friends": "与亲友同住",
}
ECONOMIC_ZH = {
    "subsistence_allowance": "低保",
    "extreme_poverty": "特困",
    "low_income": "低收入",
    "ordinary": "一般",
}


def render(assessment: Assessment, elder: Elder, instrument: Instrument, today: date) -> bytes:
    """The report as PDF bytes."""
    styles = pdf_styles()
    story: list[Flowable] = [
        Paragraph("老年人能力评估报告", styles["title"]),
        Paragraph(
            f"依据 {instrument.code}《{instrument.title.zh}》 · 评估编号 {assessment.id}", styles["body"]
        ),
        *_section("一、评估对象", _elder_rows(elder, today), styles),
        *_section("二、一级指标得分（C.1）", _score_rows(assessment, instrument), styles),
        *_section("三、能力等级（C.3–C.5）", _level_rows(assessment, instrument), styles),
        *_section("四、服务需求", _needs_rows(assessment), styles),
        *_section("五、审核意见", _decision_rows(assessment), styles),
        *_section("六、签名", _signature_rows(assessment), styles),
    ]
    return render_pdf(story, title=f"老年人能力评估报告 {assessment.id}", margin_mm=20)


def _section(heading: str, rows: list[list[str]], styles: dict[str, ParagraphStyle]) -> list[Flowable]:
    cells = [[Paragraph(cell, styles["body"]) for cell in row] for row in rows]
    table = Table(cells, colWidths=[45 * mm, 125 * mm])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (0, -1), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
            ]
        )
    )
    return [Paragraph(heading, styles["heading"]), table, Spacer(1, 2 * mm)]


def _elder_rows(elder: Elder, today: date) -> list[list[str]]:
    age = age_on(elder.birth_date, today)
    return [
        ["姓名", elder.name],
        ["性别 / 年龄", f"{SEX_ZH.get(elder.sex.value, elder.sex.value)} / {age} 岁"],
        ["居住地址", f"{elder.district}{elder.street}{elder.community} {elder.address}"],
    ]


def _score_rows(assessment: Assessment, instrument: Instrument) -> list[list[str]]:
    rows = [
        [indicator.name.zh, f"{assessment.indicator_scores.get(indicator.code, '—')} / {indicator.max} 分"]
        for indicator in instrument.indicators
    ]
    return [*rows, ["总分", f"{_or_dash(assessment.total)} / {instrument.max_total} 分"]]


def _level_rows(assessment: Assessment, instrument: Instrument) -> list[list[str]]:
    names = {level.level: level.name.zh for level in instrument.levels}
    rules = {rule.code: rule.text.zh for rule in instrument.rules}
    applied = "；".join(rules.get(code, code) for code in assessment.applied_rules) or "无"
    return [
        ["初步等级", _level_name(assessment.initial_level, names)],
        ["等级变更依据", applied],
        ["最终等级", _level_name(assessment.level, names)],
    ]


def _level_name(level: int | None, names: dict[int, str]) -> str:
    return "—" if level is None else f"{level} {names.get(level, '')}"


def _needs_rows(assessment: Assessment) -> list[list[str]]:
    needs = Needs.model_validate(assessment.needs or {})
    services = "；".join(
        f"{SERVICE_TYPE_LABELS_ZH.get(need.service_type, need.service_type.value)} 每周 {need.per_week} 次"
        for need in needs.services
    )
    return [
        ["所需服务", services or "无"],
        ["居住状况", LIVING_ZH.get(needs.living.value, "") if needs.living else "—"],
        ["经济状况", ECONOMIC_ZH.get(needs.economic.value, "") if needs.economic else "—"],
        ["备注", needs.notes or "—"],
    ]


def _decision_rows(assessment: Assessment) -> list[list[str]]:
    proposed = {True: "拟享受养老服务补贴", False: "不予享受养老服务补贴", None: "待审核"}[
        assessment.subsidy_proposed
    ]
    return [["审核结论", proposed], ["说明", assessment.decision_note or "—"]]


def _signature_rows(assessment: Assessment) -> list[list[str]]:
    def signed(at: object) -> str:
        return "（已在系统中签署）" if at else ""

    return [
        ["评估员 1 签名", f"＿＿＿＿＿＿＿＿ {signed(assessment.signed1_at)}"],
        ["评估员 2 签名", f"＿＿＿＿＿＿＿＿ {signed(assessment.signed2_at)}"],
        ["信息提供者签名", "＿＿＿＿＿＿＿＿"],
        ["审核人签名", "＿＿＿＿＿＿＿＿"],
        ["日期", "＿＿＿＿年＿＿月＿＿日"],
    ]


def _or_dash(value: int | None) -> str:
    return "—" if value is None else str(value)
