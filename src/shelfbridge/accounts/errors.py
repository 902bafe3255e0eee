"""Errors of signing in and of credentials (the rest of the tree is in ``core/errors.py``)."""

from __future__ import annotations

import math
from datetime import datetime

from shelfbridge.core.errors import NotAuthenticated, PermissionDenied, ShelfbridgeError
from shelfbridge.core.i18n import N_


class LoginFailed(NotAuthenticated):
    """Unknown username, wrong password and disabled user all answer with this one message."""

    type_slug = "login-failed"
    title = N_("Sign-in failed")

    def __init__(self) -> None:
        super().__init__(N_("The username or the password is wrong."))


class LoginThrottled(ShelfbridgeError):
    """Too many failed sign-ins for a username or from one address: try again later."""

    status = 429
    type_slug = "too-many-attempts"
    title = N_("Too many failed sign-ins")

    def __init__(self, until: datetime, now: datetime) -> None:
        seconds = max(1, math.ceil((until - now).total_seconds()))
        super().__init__(
            N_("Too many failed sign-ins. Try again in {minutes} minute(s), after {time} UTC."),
            minutes=max(1, math.ceil(seconds / 60)),
            time=until.strftime("%H:%M"),
        )
        self.until = until
        self.retry_after = seconds

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class InvalidToken(NotAuthenticated):
    type_slug = "invalid-token"
    title = N_("Invalid API token")

    def __init__(self) -> None:
        super().__init__(
            N_(
                "The API token is unknown, expired or revoked. Create a new one with "
                "POST /api/v1/auth/token or on your account page."
            )
        )

    @property
    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer error="invalid_token"'}


class CsrfFailed(PermissionDenied):
    type_slug = "csrf-failed"
    title = N_("Form expired")

    def __init__(self) -> None:
        super().__init__(
            N_(
                "This form has expired or was not sent from a Shelfbridge page, so nothing was "
                "changed. Reload the page and try again."
            )
        )


class DemoModeOnly(PermissionDenied):
    type_slug = "demo-mode-only"
    title = N_("Demo mode only")

    def __init__(self) -> None:
        super().__init__(
            N_(
                "Demo accounts are created only in demo mode. Set SHELFBRIDGE_DEMO_MODE=1 "
                "(make demo does) and run the command again."
            )
        )
