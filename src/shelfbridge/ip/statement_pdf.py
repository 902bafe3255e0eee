"""A contributor's reward statement as PDF (A4, in the current language).

The text comes from :func:`shelfbridge.ip.views.statement`, the same data the page shows, so
the two never disagree. Chinese needs a font the machine may not have: the PDF embeds the
subset of Noto Sans SC the package ships (``web/static/fonts``, see its README and OFL.txt);
fpdf2 embeds only the glyphs used, as a Type 0 font with a ToUnicode map, so the text can be
searched and copied. Nothing is fetched at run time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal
from importlib import resources
from typing import Any

from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from shelfbridge.core.i18n import current_language, translate

FONT_FAMILY = "ShelfbridgeSansSC"
FONT_FILE = "ShelfbridgeSansSC-Regular.ttf"
MUTED = (96, 96, 96)
HEADING_FILL = (236, 240, 244)
DOCUMENT_LANGUAGE = {"zh": "zh-CN", "en": "en"}


def font_path() -> str:
    """The shipped CJK font subset, as a file path fpdf2 can open."""
    return str(resources.files("shelfbridge") / "web" / "static" / "fonts" / FONT_FILE)


def _yuan(value: Any) -> str:
    if value in (None, ""):
        return "—"
    return f"¥{Decimal(str(value)):,.2f}"


def _shares(count: Any) -> str:
    return translate("{count} shares").format(count=count)


class _Statement(FPDF):
    footer_text = ""

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT_FAMILY, size=8)
        self.set_text_color(*MUTED)
        page = translate("Page {page}").format(page=self.page_no())
        self.cell(0, 5, f"{self.footer_text}    {page}", align="C")
        self.set_text_color(0, 0, 0)


def _line(pdf: FPDF, text: str, size: float = 10, height: float = 6, muted: bool = False) -> None:
    pdf.set_font(FONT_FAMILY, size=size)
    if muted:
        pdf.set_text_color(*MUTED)
    pdf.multi_cell(0, height, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _table(pdf: FPDF, rows: list[list[str]], widths: tuple[int, ...], size: float = 9) -> None:
    pdf.set_font(FONT_FAMILY, size=size)
    style = FontFace(emphasis="", fill_color=HEADING_FILL)
    with pdf.table(
        col_widths=widths, headings_style=style, line_height=5.5, text_align="LEFT"
    ) as table:
        for values in rows:
            row = table.row()
            for value in values:
                row.cell(value)
    pdf.ln(2)


def _facts(pdf: FPDF, pairs: list[tuple[str, str]]) -> None:
    pdf.set_font(FONT_FAMILY, size=9.5)
    with pdf.table(col_widths=(45, 55), first_row_as_headings=False, line_height=5.5) as table:
        for label, value in pairs:
            row = table.row()
            row.cell(label)
            row.cell(value)
    pdf.ln(2)


def _entry_facts(entry: dict[str, Any]) -> list[tuple[str, str]]:
    income = entry["income"]
    received = (
        _shares(income["shares"]) if income["shares"] is not None else _yuan(income["amount"])
    )
    pairs = [(translate("Amount received"), received)]
    for deduction in income["deductions"]:
        value = _yuan(deduction["amount"])
        if not deduction["allowed"]:
            value += f" ({translate('not deductible here')})"
        label = translate("Deduction: {kind}").format(kind=deduction["label"])
        pairs.append((label, value))
    pairs.append((translate("Net income"), _yuan(income["net"])))
    found = entry["distribution"]
    if found is None:
        pairs.append((translate("My reward"), translate("not distributed yet")))
        return pairs
    pool = (
        _shares(found["pool_shares"]) if found["pool_shares"] is not None else _yuan(found["pool"])
    )
    pairs.append((translate("Reward pool"), f"{pool} ({found['percent']}%)"))
    mine = (
        _shares(entry["payout_shares"])
        if entry["payout_shares"] is not None
        else _yuan(entry["payout"])
    )
    pairs.append((translate("My reward"), f"{mine} · {found['status_label']}"))
    return pairs


def _rule_rows(rules: list[dict[str, Any]]) -> list[list[str]]:
    rows = [
        [
            translate("Rule"),
            translate("Floor"),
            translate("Force"),
            translate("Applied"),
            translate("Source"),
        ]
    ]
    for rule in rules:
        applied = (
            translate("yes")
            if rule["applied"]
            else translate("overridden by {rule}").format(rule=rule["overridden_by"])
        )
        source = rule["source"]
        if rule["unconfirmed"]:
            source += f" [{translate('unconfirmed')}]"
        floor = f"≥ {rule['floor_percent']}%" if rule["floor_percent"] else "—"
        rows.append(
            [f"{rule['id']}\n{rule['measure_label']}", floor, rule["force_label"], applied, source]
        )
    return rows


def render(statement: dict[str, Any], *, generated: date | None = None) -> bytes:
    """The statement (``views.statement``) as a PDF document."""
    day = generated or date.fromisoformat(statement["date"])
    pdf = _Statement(orientation="portrait", unit="mm", format="A4")
    pdf.set_creation_date(datetime.combine(day, time(0, 0), tzinfo=UTC))
    pdf.add_font(FONT_FAMILY, "", font_path())
    pdf.set_lang(DOCUMENT_LANGUAGE.get(current_language.get(), "zh-CN"))
    title = translate("Contributor reward statement")
    pdf.set_title(f"{title}: {statement['name']}")
    pdf.set_author("Shelfbridge")
    pdf.set_creator("Shelfbridge")
    pdf.footer_text = translate("Shelfbridge · statement of {date}").format(date=day.isoformat())
    pdf.set_auto_page_break(auto=True, margin=16)
    pdf.add_page()

    _line(pdf, title, size=17, height=9)
    _line(pdf, f"{statement['name']} · {day.isoformat()}", size=11, muted=True)
    pdf.ln(3)
    totals = statement["totals"]
    _facts(
        pdf,
        [
            (translate("Requested"), _yuan(totals["requested"])),
            (translate("Approved"), _yuan(totals["approved"])),
            (translate("Paid"), _yuan(totals["paid"])),
        ],
    )

    _line(pdf, translate("My inventions"), size=13, height=8)
    for asset in statement["assets"]:
        parts = [asset["title"], asset["kind_label"], asset["status_label"], asset["owner_name"]]
        _line(pdf, "· " + " · ".join(p for p in parts if p), size=10)
    pdf.ln(3)

    if not statement["entries"]:
        _line(pdf, translate("No income from your inventions yet."), muted=True)
    for entry in statement["entries"]:
        income = entry["income"]
        heading = f"{entry['asset_title']} · {income['mode_label']} · {income['received_on']}"
        _line(pdf, heading, size=12, height=7)
        _facts(pdf, _entry_facts(entry))
        if entry["distribution"] is not None and entry["distribution"]["rules"]:
            _table(pdf, _rule_rows(entry["distribution"]["rules"]), (30, 14, 18, 22, 66), size=8)
        pdf.ln(2)
    _line(
        pdf,
        translate(
            "This statement lists every income, deduction, rule applied and payout for your "
            "inventions as recorded by the owning unit. Ask its tech-transfer office about any "
            "difference."
        ),
        size=8.5,
        height=5,
        muted=True,
    )
    return bytes(pdf.output())


def filename(statement: dict[str, Any]) -> str:
    return f"statement-{statement['person_id']}-{statement['date']}.pdf"
