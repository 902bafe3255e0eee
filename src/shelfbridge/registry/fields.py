"""Field rules shared by every way data comes in: forms, the JSON API and file imports.

Each field takes a raw value (text from a form or a CSV cell, or a JSON value) and returns
the clean value or raises :class:`FieldError` with a message id. Empty text counts as absent.

:meth:`Field.cleaner` gives the same rule as one function, made once per field, for a record
spec to call on every row of an import: the common fields take a short path for good text
and hand anything else (blank, wrong, not text) to :meth:`Field.clean`, so that what is
accepted, the clean value and every message stay exactly those of :meth:`Field.clean`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from shelfbridge.core.money import MoneyError, parse_yuan
from shelfbridge.registry.codes import REGION_PATTERN, is_valid_credit_code, normalize_ipc

LIST_SEPARATOR = ";"
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
URL_PATTERN = re.compile(r"^https?://[^\s]+$")
EXTERNAL_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:\-]{0,99}$")


Cleaner = Callable[[Any, "Resolver"], Any]
_CACHE_SIZE = 4096  # memoised results of pure conversions (shares, IPC codes)


class FieldError(ValueError):
    def __init__(self, message: str, **params: Any) -> None:
        super().__init__(message)
        self.message = message
        self.params = params


class Resolver(Protocol):
    """Looks up what a record refers to; backed by the database (and an import's own rows)."""

    def organization(self, external_id: str) -> tuple[int, str] | None: ...
    def person(self, external_id: str) -> int | None: ...
    def region_exists(self, code: str) -> bool: ...
    def term_exists(self, vocabulary: str, code: str) -> bool: ...


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


@dataclass(frozen=True)
class Field:
    name: str
    required: bool = False
    attribute: str | None = None  # model attribute, when it differs from the name

    @property
    def target(self) -> str:
        return self.attribute or self.name

    def clean(self, raw: Any, resolver: Resolver) -> Any:
        if is_blank(raw):
            if self.required:
                raise FieldError("This field is required.")
            return self.empty()
        return self.convert(raw, resolver)

    def empty(self) -> Any:
        return None

    def convert(self, raw: Any, resolver: Resolver) -> Any:
        raise NotImplementedError

    def cleaner(self) -> Cleaner:
        """:meth:`clean` as one function of (raw, resolver), with the same results."""
        return self.clean

    def export(self, value: Any) -> Any:
        """The raw form of a stored value (what import takes back)."""
        return value


def _text(raw: Any) -> str:
    if isinstance(raw, (dict, list, bool)):
        raise FieldError("Expected text.")
    return str(raw).strip()


@dataclass(frozen=True)
class Text(Field):
    max_length: int = 200

    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        if "\x00" in text:
            raise FieldError("The text contains a NUL character.")
        if len(text) > self.max_length:
            raise FieldError(
                "At most {max} characters (got {length}).", max=self.max_length, length=len(text)
            )
        return text

    def cleaner(self) -> Cleaner:
        slow, maximum = self.clean, self.max_length

        def clean(raw: Any, resolver: Resolver) -> Any:
            if type(raw) is str:
                text = raw.strip()
                if text and len(text) <= maximum and "\x00" not in text:
                    return text
            return slow(raw, resolver)

        return clean


@dataclass(frozen=True)
class ExternalId(Field):
    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        if not EXTERNAL_ID_PATTERN.match(text):
            raise FieldError(
                "An external id is 1–100 letters, digits, dots, dashes, colons or underscores."
            )
        return text

    def cleaner(self) -> Cleaner:
        slow, match = self.clean, EXTERNAL_ID_PATTERN.match

        def clean(raw: Any, resolver: Resolver) -> Any:
            if type(raw) is str:
                text = raw.strip()
                if text and match(text):
                    return text
            return slow(raw, resolver)

        return clean


@dataclass(frozen=True)
class Choice(Field):
    choices: Mapping[str, str] | None = None
    default: str | None = None

    def empty(self) -> Any:
        if self.default is None and self.required:
            raise FieldError("This field is required.")
        return self.default

    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        assert self.choices is not None
        if text not in self.choices:
            raise FieldError(
                "Unknown value “{value}”; allowed: {allowed}.",
                value=text,
                allowed=", ".join(self.choices),
            )
        return text

    def cleaner(self) -> Cleaner:
        slow, choices = self.clean, frozenset(self.choices or ())

        def clean(raw: Any, resolver: Resolver) -> Any:
            if type(raw) is str:
                text = raw.strip()
                if text and text in choices:
                    return text
            return slow(raw, resolver)

        return clean


@dataclass(frozen=True)
class Term(Field):
    """A code from a vocabulary kept as data (reference_terms)."""

    vocabulary: str = ""

    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw).upper()
        if not resolver.term_exists(self.vocabulary, text):
            raise FieldError("Unknown code “{value}”.", value=text)
        return text


@dataclass(frozen=True)
class WholeNumber(Field):
    minimum: int = 0
    maximum: int = 0

    def convert(self, raw: Any, resolver: Resolver) -> int:
        if isinstance(raw, bool):
            raise FieldError("Expected a whole number.")
        if isinstance(raw, int):
            number = raw
        else:
            text = _text(raw)
            if not re.fullmatch(r"[+-]?\d+", text):
                raise FieldError("Expected a whole number.")
            number = int(text)
        if not self.minimum <= number <= self.maximum:
            raise FieldError("Must be between {min} and {max}.", min=self.minimum, max=self.maximum)
        return number

    def cleaner(self) -> Cleaner:
        slow, minimum, maximum = self.clean, self.minimum, self.maximum

        def clean(raw: Any, resolver: Resolver) -> Any:
            if type(raw) is str:
                text = raw.strip()
                if text.isascii() and text.isdigit():
                    number = int(text)
                    if minimum <= number <= maximum:
                        return number
            return slow(raw, resolver)

        return clean

    def export(self, value: Any) -> Any:
        return value


@dataclass(frozen=True)
class Money(Field):
    def convert(self, raw: Any, resolver: Resolver) -> Decimal:
        try:
            return parse_yuan(raw if not isinstance(raw, str) else raw.strip())
        except MoneyError as error:
            raise FieldError(str(error)) from None

    def export(self, value: Any) -> Any:
        return None if value is None else str(value)


@dataclass(frozen=True)
class Day(Field):
    def convert(self, raw: Any, resolver: Resolver) -> date:
        if isinstance(raw, date):
            return raw
        text = _text(raw)
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError
            return date.fromisoformat(text)
        except ValueError:
            raise FieldError("Expected a date like 2027-06-30.") from None

    def export(self, value: Any) -> Any:
        return None if value is None else value.isoformat()


@dataclass(frozen=True)
class TextList(Field):
    item_max_length: int = 100
    max_items: int = 50

    def empty(self) -> Any:
        return []

    def items(self, raw: Any) -> list[str]:
        if isinstance(raw, list):
            if any(isinstance(item, (dict, list)) for item in raw):
                raise FieldError("Expected a list of texts.")
            values = [str(item).strip() for item in raw]
        else:
            values = [part.strip() for part in _text(raw).split(LIST_SEPARATOR)]
        return [value for value in values if value]

    def convert(self, raw: Any, resolver: Resolver) -> list[str]:
        values = self.items(raw)
        if len(values) > self.max_items:
            raise FieldError("At most {max} items.", max=self.max_items)
        for value in values:
            if len(value) > self.item_max_length:
                raise FieldError(
                    "Each item has at most {max} characters.", max=self.item_max_length
                )
        return values

    def _good_items(self, raw: Any) -> list[str] | None:
        """The items of non-blank text that are within the limits; else None."""
        if type(raw) is not str:
            return None
        text = raw.strip()
        if not text:
            return None
        values = [value for part in text.split(LIST_SEPARATOR) if (value := part.strip())]
        if len(values) > self.max_items:
            return None
        longest = self.item_max_length
        for value in values:
            if len(value) > longest:
                return None
        return values

    def cleaner(self) -> Cleaner:
        slow, good = self.clean, self._good_items

        def clean(raw: Any, resolver: Resolver) -> Any:
            values = good(raw)
            return slow(raw, resolver) if values is None else values

        return clean

    def export(self, value: Any) -> Any:
        return list(value or [])


@dataclass(frozen=True)
class IpcCodes(TextList):
    def convert(self, raw: Any, resolver: Resolver) -> list[str]:
        codes = []
        for value in super().convert(raw, resolver):
            code = normalize_ipc(value)
            if code is None:
                raise FieldError(
                    "“{value}” is not an IPC code (e.g. G06F or A61K 31/495).", value=value
                )
            codes.append(code)
        return codes

    def cleaner(self) -> Cleaner:
        slow, good = self.clean, self._good_items
        known: dict[str, str] = {}  # item → its normal form, for items that are IPC codes

        def clean(raw: Any, resolver: Resolver) -> Any:
            values = good(raw)
            if values is None:
                return slow(raw, resolver)
            codes = []
            for value in values:
                code = known.get(value)
                if code is None:
                    code = normalize_ipc(value)
                    if code is None:
                        return slow(raw, resolver)
                    if len(known) < _CACHE_SIZE:
                        known[value] = code
                codes.append(code)
            return codes

        return clean


@dataclass(frozen=True)
class RegionCode(Field):
    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        if not REGION_PATTERN.match(text):
            raise FieldError("A region code has six digits (GB/T 2260), e.g. 110000.")
        if not resolver.region_exists(text):
            raise FieldError("Unknown region code {value}.", value=text)
        return text


@dataclass(frozen=True)
class CreditCode(Field):
    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw).upper()
        if not is_valid_credit_code(text):
            raise FieldError(
                "Not a valid unified social credit code: 18 characters with a correct check "
                "character (GB 32100-2015)."
            )
        return text


@dataclass(frozen=True)
class Email(Field):
    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        if len(text) > 200 or not EMAIL_PATTERN.match(text):
            raise FieldError("Not a valid e-mail address.")
        return text


@dataclass(frozen=True)
class Url(Field):
    def convert(self, raw: Any, resolver: Resolver) -> str:
        text = _text(raw)
        if len(text) > 300 or not URL_PATTERN.match(text):
            raise FieldError("Not a valid web address; start with http:// or https://.")
        return text


@dataclass(frozen=True)
class OrganizationRef(Field):
    kinds: tuple[str, ...] = ()

    def convert(self, raw: Any, resolver: Resolver) -> int:
        text = _text(raw)
        found = resolver.organization(text)
        if found is None:
            raise FieldError("No organisation has the external id “{value}”.", value=text)
        if self.kinds and found[1] not in self.kinds:
            raise FieldError("Organisation “{value}” is not an enterprise.", value=text)
        return found[0]

    def cleaner(self) -> Cleaner:
        slow, convert = self.clean, self.convert

        def clean(raw: Any, resolver: Resolver) -> Any:
            if type(raw) is str and raw.strip():
                return convert(raw, resolver)
            return slow(raw, resolver)

        return clean


@dataclass(frozen=True)
class Contributors(Field):
    """Contributors and their shares in percent, which must sum to exactly 100."""

    def empty(self) -> Any:
        return []

    def _entries(self, raw: Any) -> list[tuple[str, Any, str | None]]:
        if isinstance(raw, list):
            entries = []
            for item in raw:
                if not isinstance(item, dict) or "name" not in item or "share" not in item:
                    raise FieldError("Each contributor needs a name and a share.")
                person = item.get("person")
                entries.append(
                    (
                        str(item["name"]).strip(),
                        item["share"],
                        str(person).strip() if person else None,
                    )
                )
            return entries
        entries = []
        for part in _text(raw).split(LIST_SEPARATOR):
            if not part.strip():
                continue
            name, sep, share = part.rpartition(":")
            if not sep or not name.strip():
                raise FieldError(
                    "Write contributors as name:share;name:share (e.g. 张三:60;李四:40)."
                )
            name, _, person = name.partition("@")
            entries.append((name.strip(), share.strip(), person.strip() or None))
        return entries

    def convert(self, raw: Any, resolver: Resolver) -> list[dict[str, Any]]:
        contributors = []
        total = Decimal(0)
        for position, (name, share_raw, person_ref) in enumerate(self._entries(raw), start=1):
            if not name or len(name) > 100:
                raise FieldError("Each contributor needs a name of at most 100 characters.")
            share = _share_of_text(share_raw) if type(share_raw) is str else _share(share_raw)
            person_id = None
            if person_ref:
                person_id = resolver.person(person_ref)
                if person_id is None:
                    raise FieldError("No person has the external id “{value}”.", value=person_ref)
            total += share
            contributors.append(
                {"position": position, "name": name, "share": share, "person_id": person_id}
            )
        if contributors and total != Decimal(100):
            raise FieldError(
                "Contributor shares must sum to 100% (they sum to {total}%).", total=str(total)
            )
        return contributors

    def cleaner(self) -> Cleaner:
        slow, hundred = self.clean, Decimal(100)

        def clean(raw: Any, resolver: Resolver) -> Any:
            # Good "name@person:share;…" text, parsed as _entries and convert do; anything
            # else (blank, a list, any problem) goes the long way, which names the problem.
            if type(raw) is not str:
                return slow(raw, resolver)
            text = raw.strip()
            if not text:
                return slow(raw, resolver)
            contributors: list[dict[str, Any]] = []
            total = Decimal(0)
            for part in text.split(LIST_SEPARATOR):
                if not part.strip():
                    continue
                name, sep, share_text = part.rpartition(":")
                if not sep:
                    return slow(raw, resolver)
                name, _, person_ref = name.partition("@")
                name, person_ref = name.strip(), person_ref.strip()
                if not name or len(name) > 100:
                    return slow(raw, resolver)
                try:
                    share = _share_of_text(share_text.strip())
                except FieldError:
                    return slow(raw, resolver)
                person_id = None
                if person_ref:
                    person_id = resolver.person(person_ref)
                    if person_id is None:
                        return slow(raw, resolver)
                total += share
                contributors.append(
                    {
                        "position": len(contributors) + 1,
                        "name": name,
                        "share": share,
                        "person_id": person_id,
                    }
                )
            if contributors and total != hundred:
                return slow(raw, resolver)
            return contributors

        return clean


_SHARES: dict[str, Decimal] = {}  # share text → share, for texts that are good shares


def _share_of_text(raw: str) -> Decimal:
    """:func:`_share` of a text, memoised: a file repeats the same few shares."""
    share = _SHARES.get(raw)
    if share is None:
        share = _share(raw)
        if len(_SHARES) < _CACHE_SIZE:
            _SHARES[raw] = share
    return share


def _share(raw: Any) -> Decimal:
    if isinstance(raw, (float, bool)):
        raise FieldError("Write a share as text, e.g. 33.33.")
    try:
        share = Decimal(str(raw).strip().rstrip("%"))
    except InvalidOperation:
        raise FieldError("A share is a percentage like 60 or 33.33.") from None
    if not share.is_finite() or share <= 0 or share > 100:
        raise FieldError("A share is more than 0 and at most 100.")
    if share != share.quantize(Decimal("0.01")):
        raise FieldError("A share has at most two decimal places.")
    return share.quantize(Decimal("0.01"))
