"""Deadlines as an iCalendar file (RFC 5545), written here without a library.

One all-day ``VEVENT`` per deadline (``DTSTART;VALUE=DATE`` and the next day as ``DTEND``), a
stable ``UID`` so that a calendar program re-importing the file updates the events instead of
doubling them, and a display alarm 14 days before. Text values are escaped (backslash,
semicolon, comma, newline) and every content line is folded at 75 octets without splitting a
UTF-8 character; lines end with CRLF.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip.deadlines import OFFICE_FEES, Deadline, reduction_percent

PRODUCT = "-//Shelfbridge//IP deadlines//EN"
REMIND_DAYS = 14
LIMIT = 75  # octets per line, CRLF excluded (RFC 5545 §3.1)


def escape(text: str) -> str:
    """TEXT value escaping (RFC 5545 §3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def fold(line: str) -> str:
    """Split a content line into chunks of at most 75 octets, continuation lines starting
    with one space (which counts towards their 75)."""
    chunks: list[str] = []
    current, size, limit = "", 0, LIMIT
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            chunks.append(current)
            current, size, limit = "", 0, LIMIT - 1
        current += char
        size += width
    chunks.append(current)
    return "\r\n ".join(chunks)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _description(deadline: Deadline) -> str:
    parts = [f"{deadline.owner_name} · {deadline.asset_external_id}"]
    if deadline.amount is not None:
        parts.append(translate(N_("Amount: ¥{amount}")).format(amount=f"{deadline.amount:,.2f}"))
    if deadline.extended_from is not None:
        parts.append(
            translate(N_("(extended from {day})")).format(day=deadline.extended_from.isoformat())
        )
    if deadline.fee is not None:
        named = translate(OFFICE_FEES[deadline.fee.fee])
        if deadline.fee.unconfirmed:
            named = f"{named}, {translate(N_('unconfirmed'))}"
        parts.append(f"({named})")
    if deadline.full_amount is not None:
        parts.append(
            translate(N_("(fee reduction {percent}% of {amount})")).format(
                percent=reduction_percent(deadline), amount=f"¥{deadline.full_amount:,.2f}"
            )
        )
    if deadline.grace_until is not None:
        parts.append(
            translate(N_("Grace period until {day}")).format(day=deadline.grace_until.isoformat())
        )
    if deadline.reference:
        parts.append(deadline.reference)
    if deadline.source():
        parts.append(deadline.source())
    if deadline.unconfirmed:
        parts.append(translate(N_("Unconfirmed figure or period: check the source.")))
    return "\n".join(parts)


def calendar(deadlines: Iterable[Deadline], *, now: datetime | None = None) -> str:
    """The deadlines as one VCALENDAR object."""
    stamp = _stamp(now or datetime.now(UTC))
    name = translate(N_("Shelfbridge IP deadlines"))
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODUCT}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape(name)}",
    ]
    for deadline in deadlines:
        summary = deadline.summary()
        lines += [
            "BEGIN:VEVENT",
            f"UID:{escape(deadline.uid)}",
            f"DTSTAMP:{stamp}",
            f"DTSTART;VALUE=DATE:{deadline.due_on:%Y%m%d}",
            f"DTEND;VALUE=DATE:{deadline.due_on + timedelta(days=1):%Y%m%d}",
            f"SUMMARY:{escape(summary)}",
            f"DESCRIPTION:{escape(_description(deadline))}",
            f"CATEGORIES:{escape(deadline.kind)}",
            "TRANSP:TRANSPARENT",
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape(summary)}",
            f"TRIGGER:-P{REMIND_DAYS}D",
            "END:VALARM",
            "END:VEVENT",
        ]
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + "\r\n" for line in lines)
