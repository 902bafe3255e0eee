"""Limits on failed sign-ins kept in memory: per client address, and per unknown username.

Known usernames are locked in the database (``users.failed_logins`` / ``locked_until``). A
username that does not exist is locked here in the same way, so that locking never tells an
attacker which usernames exist. Each process keeps its own counts; that is enough to slow down
guessing, and the database lock of real users is shared by all processes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from datetime import datetime, timedelta

MAX_TRACKED = 10_000  # addresses and unknown usernames remembered at most (oldest forgotten)


@dataclass
class _NameState:
    failures: int = 0
    locked_until: datetime | None = None


class LoginThrottle:
    def __init__(
        self,
        *,
        max_failures: int,
        lockout: timedelta,
        ip_max_failures: int,
        ip_window: timedelta,
    ) -> None:
        self.max_failures = max_failures
        self.lockout = lockout
        self.ip_max_failures = ip_max_failures
        self.ip_window = ip_window
        self._ips: OrderedDict[str, deque[datetime]] = OrderedDict()
        self._names: OrderedDict[str, _NameState] = OrderedDict()
        self._lock = threading.Lock()

    # ------------------------------------------------------------ per client address
    def address_blocked_until(self, address: str, now: datetime) -> datetime | None:
        with self._lock:
            failures = self._ips.get(address)
            if not failures:
                return None
            while failures and failures[0] <= now - self.ip_window:
                failures.popleft()
            if len(failures) < self.ip_max_failures:
                return None
            # Blocked until enough failures have left the window.
            return failures[len(failures) - self.ip_max_failures] + self.ip_window

    def address_failed(self, address: str, now: datetime) -> None:
        with self._lock:
            failures = self._ips.setdefault(address, deque())
            self._ips.move_to_end(address)
            failures.append(now)
            while len(failures) > self.ip_max_failures:
                failures.popleft()
            while len(self._ips) > MAX_TRACKED:
                self._ips.popitem(last=False)

    # ------------------------------------------------------------ per unknown username
    def name_locked_until(self, username: str, now: datetime) -> datetime | None:
        with self._lock:
            state = self._names.get(username)
            if state and state.locked_until and state.locked_until > now:
                return state.locked_until
            return None

    def name_failed(self, username: str, now: datetime) -> datetime | None:
        """Count a failure; returns the end of the lock when this failure starts one."""
        with self._lock:
            state = self._names.setdefault(username, _NameState())
            self._names.move_to_end(username)
            while len(self._names) > MAX_TRACKED:
                self._names.popitem(last=False)
            state.failures += 1
            if state.failures >= self.max_failures:
                state.failures = 0
                state.locked_until = now + self.lockout
                return state.locked_until
            return None
