"""Reading a disclosure's fields (forms and API bodies alike) and the novelty warnings of a
public disclosure. Every problem is collected before anything is written (``Fields``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.orm import Session

from shelfbridge.core.i18n import N_, translate
from shelfbridge.ip.disclosure_models import GRACE_MONTHS, Disclosure
from shelfbridge.ip.inputs import Fields
from shelfbridge.ip.service import find_person, parse_contributor_lines
from shelfbridge.registry.models import Person

MAX_CONTRIBUTORS = 50
HUNDRED = Decimal(100)


@dataclass(frozen=True)
class Inventor:
    name: str
    share: Decimal
    main: bool
    person_id: int | None


def parse_lines(text: str) -> list[dict[str, str]]:
    """The text form, one inventor per line: ``name:share[:main]``, with ``@person`` after the
    name to link the person of the registry (``ip.service.parse_contributor_lines``)."""
    return parse_contributor_lines(text, amount="share")


def format_lines(disclosure: Disclosure) -> str:
    """The inverse of :func:`parse_lines`, to fill an edit form."""
    lines = []
    for c in disclosure.contributors:
        who = c.name + (f"@{c.person_id}" if c.person_id is not None else "")
        lines.append(f"{who}:{c.share.normalize():f}" + (":main" if c.main else ""))
    return "\n".join(lines)


def _share(fields: Fields, where: str, value: Any) -> Decimal | None:
    """A percentage above 0 and at most 100 with at most two decimals, as for the shares of a
    result's contributors (registry/fields.py)."""
    if isinstance(value, (bool, float)):
        fields.problem(where, N_("Write a share as text, e.g. 33.33."))
        return None
    try:
        share = Decimal(str(value).strip().rstrip("%"))
    except InvalidOperation:
        fields.problem(where, N_("A share is a percentage like 60 or 33.33."))
        return None
    if not share.is_finite() or share <= 0 or share > HUNDRED:
        fields.problem(where, N_("A share is more than 0 and at most 100."))
        return None
    if share != share.quantize(Decimal("0.01")):
        fields.problem(where, N_("A share has at most two decimal places."))
        return None
    return share.quantize(Decimal("0.01"))


def inventors(session: Session, fields: Fields) -> list[Inventor]:
    """The inventors and their shares, which must sum to exactly 100."""
    raw = fields.raw.get("contributors")
    if raw is None or raw == "" or raw == []:
        fields.problem("contributors", N_("Name at least one inventor with a share."))
        return []
    items = parse_lines(raw) if isinstance(raw, str) else raw
    if not isinstance(items, list) or not 0 < len(items) <= MAX_CONTRIBUTORS:
        fields.problem(
            "contributors", N_("Give between 1 and {count} contributors."), count=MAX_CONTRIBUTORS
        )
        return []
    found: list[Inventor] = []
    for index, item in enumerate(items):
        where = f"contributors[{index}]"
        if not isinstance(item, Mapping):
            fields.problem(where, N_("Each contributor needs a name and a share."))
            continue
        person: Person | None = None
        reference = item.get("person_id", item.get("person"))
        if reference not in (None, ""):
            person = find_person(session, reference)
            if person is None:
                fields.problem(where, N_("No person “{value}” in the registry."), value=reference)
                continue
        name = str(item.get("name") or (person.name if person else "")).strip()
        if not name or len(name) > 100:
            fields.problem(where, N_("Each contributor needs a name of at most 100 characters."))
            continue
        share = _share(fields, where, item.get("share", ""))
        if share is None:
            continue
        main = item.get("main")
        is_main = main is True or str(main).strip().lower() in ("1", "true", "yes", "on", "main")
        found.append(Inventor(name, share, is_main, person.id if person else None))
    if len(found) == len(items):
        total = sum((i.share for i in found), Decimal(0))
        if total != HUNDRED:
            fields.problem(
                "contributors",
                N_("Contributor shares must sum to 100% (they sum to {total}%)."),
                total=f"{total.normalize():f}",
            )
        names = [i.name for i in found]
        people = [i.person_id for i in found if i.person_id is not None]
        if len(set(names)) != len(names) or len(set(people)) != len(people):
            fields.problem("contributors", N_("A contributor appears twice."))
    return found


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise AssertionError("every month has a 28th")


ART_24_CASES = N_(
    "Patent Law Art. 24 keeps novelty only for a first showing at an international exhibition "
    "the Chinese government hosts or recognises, a first publication at a prescribed academic "
    "or technical conference, a first disclosure for the public interest in a national "
    "emergency, or a disclosure by others without consent."
)


def novelty_warnings(disclosure: Disclosure, today: date | None = None) -> list[str]:
    """What a public disclosure means for a patent (Patent Law Art. 24), in the caller's
    language. A warning, never a refusal: whether the disclosure was one of the four cases is
    for the office to judge; the law gives no grace for any other disclosure."""
    day = disclosure.public_disclosure_on
    if day is None:
        return []
    today = today or date.today()
    ends = add_months(day, GRACE_MONTHS)
    if disclosure.asset is not None and disclosure.asset.filed_on is not None:
        filed = disclosure.asset.filed_on
        if filed <= ends:
            return []
        today = filed
    if today > ends:
        first = translate(
            N_(
                "Publicly disclosed on {day}: the six-month grace period ended on {end}; a "
                "patent application can no longer rely on it."
            )
        ).format(day=day.isoformat(), end=ends.isoformat())
    else:
        first = translate(
            N_(
                "Publicly disclosed on {day}: file by {end} at the latest, and only if the "
                "disclosure was one of the cases below."
            )
        ).format(day=day.isoformat(), end=ends.isoformat())
    return [first, translate(ART_24_CASES)]
