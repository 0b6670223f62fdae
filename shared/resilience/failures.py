"""The failures a caller of any dependency has to tell apart, whatever the transport.

A dependency either answered (a result, or a ``Refused`` business answer that repeating will not
change) or it did not (``Unavailable``, with the reason): the call may or may not have taken
effect. Each client subclasses both, so its callers catch its own types.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

RETRYABLE_STATUS = frozenset({500, 502, 503, 504, 429})


class Reason(StrEnum):
    TIMEOUT = "timeout"
    CONNECTION = "connection"
    SERVER_ERROR = "server_error"
    BREAKER_OPEN = "breaker_open"
    BULKHEAD_FULL = "bulkhead_full"
    DEADLINE = "deadline"
    # The dependency did not accept our credentials: our configuration is wrong, not the
    # request, so the command waits (and the outbox-age alert fires) instead of failing anything.
    UNAUTHORISED = "unauthorised"


class Unavailable(Exception):
    """No answer; ``status`` and ``retry_after_s`` are the server's, for a 5xx or 429."""

    def __init__(
        self,
        reason: Reason,
        detail: str = "",
        *,
        status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(f"{self.dependency} unavailable: {reason.value} {detail}".strip())
        self.reason, self.detail = reason, detail
        self.status, self.retry_after_s = status, retry_after_s

    dependency = "dependency"

    @property
    def retryable(self) -> bool:
        """Worth another attempt: the failure may be gone in a moment."""
        if self.reason is Reason.SERVER_ERROR:
            return self.status in RETRYABLE_STATUS
        return self.reason in (Reason.TIMEOUT, Reason.CONNECTION)


class Refused(Exception):
    """A business refusal (4xx); repeating the call will not help, and it is no failure."""

    dependency = "dependency"

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{self.dependency} refused ({status} {code}): {message}")
        self.status, self.code, self.message = status, code, message


def retryable(exc: BaseException) -> bool:
    return isinstance(exc, Unavailable) and exc.retryable


def retry_after(exc: BaseException) -> float | None:
    return exc.retry_after_s if isinstance(exc, Unavailable) else None


def retry_after_header(headers: Mapping[str, str]) -> float | None:
    """The wait a server asked for: ``Retry-After-Ms`` (admission control) is the finer one."""
    precise = headers.get("Retry-After-Ms")
    if precise is not None and precise.isdigit():
        return int(precise) / 1000
    raw = headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None  # an HTTP-date; the backoff schedule applies instead
