"""Webhook signatures, the scheme hosted payment providers use (Stripe's, in its own words).

The sender signs ``"<unix time>.<raw body>"`` with HMAC-SHA256 under every secret it holds and
sends ``X-Signature: t=<unix time>,sha256=<hex>[,sha256=<hex>...]``; during a rotation it holds
the old secret and the new one, so receivers that know either accept the event. A receiver
accepts an event only if the time is within its tolerance (a captured request cannot be
replayed later) and one signature matches one of its secrets, compared in constant time; it
checks the raw bytes before parsing anything.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence

HEADER = "X-Signature"
SCHEME = "sha256"


class SignatureInvalid(Exception):
    """Why an event was not accepted: ``reason`` is one word for metrics and answers."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def signature(secret: str, timestamp: int, body: bytes) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def header(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The ``X-Signature`` value for ``body`` sent at ``timestamp``, under each secret."""
    parts = [f"t={timestamp}"] + [f"{SCHEME}={signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)


def verify(
    value: str | None, body: bytes, secrets: Sequence[str], *, now: float, tolerance_s: float
) -> int:
    """The signed timestamp when ``value`` signs ``body`` under one of ``secrets`` within the
    tolerance; ``SignatureInvalid`` otherwise."""
    if not value:
        raise SignatureInvalid("missing", f"no {HEADER} header")
    timestamp: int | None = None
    given: list[str] = []
    for part in value.split(","):
        name, _, field = part.strip().partition("=")
        if name == "t" and field.isdigit() and len(field) <= 12:
            timestamp = int(field)
        elif name == SCHEME and field:
            given.append(field)
    if timestamp is None or not given:
        raise SignatureInvalid("malformed", f"{HEADER} needs t=<unix time> and {SCHEME}=<hex>")
    if abs(now - timestamp) > tolerance_s:
        raise SignatureInvalid(
            "expired", f"signed at {timestamp}, more than {tolerance_s:.0f} s from now"
        )
    expected = [signature(secret, timestamp, body) for secret in secrets]
    # Every pair is compared, so the time taken tells nothing about which one came close.
    matched = False
    for candidate in given:
        for wanted in expected:
            matched |= hmac.compare_digest(candidate.encode(), wanted.encode())
    if not matched:
        raise SignatureInvalid("mismatch", "no signature matches a current secret")
    return timestamp
