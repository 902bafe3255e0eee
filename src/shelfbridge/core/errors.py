"""Every error Shelfbridge raises on purpose, in one tree.

Each error carries a message id (English source text, translated through the catalogs) and
the parameters to fill in, so the API, the pages and the CLI can all say it in the user's
language. ``status`` is the HTTP status the API answers with.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import Any

from shelfbridge.core.i18n import N_


@dataclass(frozen=True)
class FieldProblem:
    """One problem with one input field (optionally on one row of a file)."""

    field: str
    message: str
    params: dict[str, Any] = dataclass_field(default_factory=dict)
    row: int | None = None

    def render(self, translate: Any) -> str:
        return str(translate(self.message)).format(**self.params)


class ShelfbridgeError(Exception):
    status = 500
    type_slug = "internal-error"
    title = N_("Internal error")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        self.message = message or self.title
        self.params = params
        super().__init__(self.message.format(**params) if params else self.message)

    def render(self, translate: Any) -> str:
        return str(translate(self.message)).format(**self.params)

    @property
    def headers(self) -> dict[str, str]:
        """HTTP headers the answer carries (``Retry-After``, ``WWW-Authenticate``)."""
        return {}

    @property
    def extensions(self) -> dict[str, Any]:
        """Members added to the problem document (RFC 9457 extensions)."""
        return {}


class NotFound(ShelfbridgeError):
    status = 404
    type_slug = "not-found"
    title = N_("Not found")

    def __init__(self, kind: str = "record", message: str | None = None, **params: Any) -> None:
        # The same message for "does not exist" and "may not be seen": callers never learn which.
        super().__init__(message or N_("The requested record does not exist."), **params)
        self.kind = kind


class PermissionDenied(ShelfbridgeError):
    """The caller may see the record (or route) but not do this with it."""

    status = 403
    type_slug = "forbidden"
    title = N_("Not allowed")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        super().__init__(message or N_("You are not allowed to do this."), **params)


class NotAuthenticated(ShelfbridgeError):
    status = 401
    type_slug = "not-authenticated"
    title = N_("Sign-in required")

    def __init__(self, message: str | None = None, **params: Any) -> None:
        super().__init__(message or N_("Sign in to do this."), **params)


class ValidationFailed(ShelfbridgeError):
    status = 422
    type_slug = "validation-failed"
    title = N_("Validation failed")

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(N_("Some fields are not valid. Correct them and try again."))
        self.problems = problems


class Conflict(ShelfbridgeError):
    status = 409
    type_slug = "conflict"
    title = N_("Conflict")


class BadRequest(ShelfbridgeError):
    status = 400
    type_slug = "bad-request"
    title = N_("Bad request")


class ImportRejected(ShelfbridgeError):
    """An import file had problems; nothing was written."""

    status = 422
    type_slug = "import-rejected"
    title = N_("Import rejected")

    def __init__(self, problems: list[FieldProblem], rows_checked: int = 0) -> None:
        super().__init__(
            N_("The file was rejected: {count} problem(s) found. Nothing was imported."),
            count=len(problems),
        )
        self.problems = problems
        self.rows_checked = rows_checked


class RuleViolation(ShelfbridgeError):
    """A figure (a unit's own reward policy, a distribution) falls below a legal floor that
    binds it; each problem's message cites the statute article (``shelfbridge.ip.rules``)."""

    status = 422
    type_slug = "rule-violation"
    title = N_("Below a binding legal floor")

    def __init__(self, problems: list[FieldProblem]) -> None:
        super().__init__(
            N_("Refused: {count} binding legal floor(s) not met."), count=len(problems)
        )
        self.problems = problems

    def render(self, translate: Any) -> str:
        return "\n".join(problem.render(translate) for problem in self.problems)


class AuditChainBroken(ShelfbridgeError):
    status = 500
    type_slug = "audit-chain-broken"
    title = N_("Audit chain broken")
