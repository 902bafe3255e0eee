"""What the accounts code needs at run time: the policy from the settings, the clock, and the
in-memory sign-in limits. One :class:`AccountsRuntime` per application (``app.state.accounts``)
or per CLI command; tests replace its clock instead of sleeping."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shelfbridge.accounts.throttle import LoginThrottle
from shelfbridge.core.models import utcnow
from shelfbridge.core.settings import Settings

Clock = Callable[[], datetime]


@dataclass(frozen=True)
class AccountPolicy:
    session_idle: timedelta = timedelta(minutes=30)
    session_max: timedelta = timedelta(hours=12)
    cookie_secure: bool | None = None  # None: follow the request's scheme
    max_failures: int = 5
    lockout: timedelta = timedelta(minutes=15)
    ip_max_failures: int = 20
    ip_window: timedelta = timedelta(minutes=10)
    token_lifetime: timedelta | None = None
    secret_key: str = "change-me-in-production"

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountPolicy:
        lifetime = settings.api_token_lifetime_days
        return cls(
            session_idle=timedelta(minutes=settings.session_idle_minutes),
            session_max=timedelta(hours=settings.session_max_hours),
            cookie_secure=None
            if settings.cookie_secure == "auto"
            else bool(settings.cookie_secure),
            max_failures=settings.login_max_failures,
            lockout=timedelta(minutes=settings.login_lockout_minutes),
            ip_max_failures=settings.login_ip_max_failures,
            ip_window=timedelta(minutes=settings.login_ip_window_minutes),
            token_lifetime=timedelta(days=lifetime) if lifetime else None,
            secret_key=settings.secret_key,
        )


@dataclass
class AccountsRuntime:
    policy: AccountPolicy
    clock: Clock = utcnow
    throttle: LoginThrottle = field(init=False)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(
            max_failures=self.policy.max_failures,
            lockout=self.policy.lockout,
            ip_max_failures=self.policy.ip_max_failures,
            ip_window=self.policy.ip_window,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> AccountsRuntime:
        return cls(AccountPolicy.from_settings(settings))

    def now(self) -> datetime:
        return self.clock()
