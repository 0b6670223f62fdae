"""Failed logins slow the next attempt for that email; they never lock the account.

A limit that refuses an email after N tries lets anyone lock out anyone (the admin too) by
guessing wrong on purpose. Here only failures count: past the first ``free``, each one makes
the next attempt wait, ``base_s`` and then twice as long each time, up to ``max_s``. A guessing
script gets one try per ``max_s`` per email, while the owner, whatever was tried against the
account, is checked again at most ``max_s`` after the last failure. An attempt inside the wait
is answered ``429 LOGIN_DELAYED`` with the time left, before any password is hashed, and
counts for nothing.
Failures older than ``window_s`` are forgotten; a success clears them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.ports import LoginFailures


@dataclass(frozen=True)
class FailureDelay:
    free: int = 3
    base_s: float = 0.5
    max_s: float = 4.0
    window_s: float = 900.0

    def wait_s(self, record: LoginFailures | None, now: datetime) -> float:
        """How long the next attempt must still wait (0: check it now)."""
        if record is None or record.failures <= self.free or self.forgotten(record, now):
            return 0.0
        delay = min(self.max_s, self.base_s * 2.0 ** (record.failures - self.free - 1))
        return max(0.0, (record.last_failed_at - now).total_seconds() + delay)

    def forgotten(self, record: LoginFailures, now: datetime) -> bool:
        return record.last_failed_at < self.forget_before(now)

    def forget_before(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.window_s)
