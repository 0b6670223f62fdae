"""Signed tokens (JWT): the order service issues them, both services verify them.

The algorithm is pinned: EdDSA for our own key, and only the configured algorithms for an
identity provider's JWKS, so neither ``alg: none`` nor an HS/RS confusion can get through.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any

import jwt

from shared.auth import Principal, Role
from shared.config import Settings
from shared.errors import Unauthenticated

OWN_ALGORITHM = "EdDSA"


class TokenIssuer:
    """Signs tokens with the order service's private key."""

    def __init__(
        self, signing_key: str, issuer: str, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._key = signing_key
        self.issuer = issuer
        self.clock = clock

    def issue(self, subject: str, role: Role, audience: str, ttl_s: int) -> str:
        now = int(self.clock())
        claims = {
            "sub": subject,
            "role": role.value,
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._key, algorithm=OWN_ALGORITHM)


class TokenVerifier:
    """Checks signature, issuer, audience and expiry; returns who is calling."""

    def __init__(
        self,
        verify_key: str,
        issuer: str,
        audiences: Sequence[str],
        *,
        leeway_s: int = 30,
        role_claim: str = "role",
        jwks_url: str | None = None,
        jwks_algorithms: Sequence[str] = ("RS256",),
        max_lifetime_s: int = 86400,
    ) -> None:
        self._key = verify_key
        self.max_lifetime_s = max_lifetime_s
        self.issuer = issuer
        self.audiences = list(audiences)
        self.leeway_s = leeway_s
        self.role_claim = role_claim
        self._jwks = jwt.PyJWKClient(jwks_url, cache_keys=True) if jwks_url else None
        self._jwks_algorithms = list(jwks_algorithms)
        # Verified tokens by their exact text (signature included) until they expire: a client
        # sends the same token for its whole life, and checking the signature again each time
        # was the larger part of the token cost per order.
        self._verified: dict[str, tuple[Principal, float]] = {}

    def verify(self, token: str) -> Principal:
        """The caller behind ``token``, or ``Unauthenticated`` saying what was wrong."""
        cached = self._verified.get(token)
        if cached is not None and time.time() < cached[1] + self.leeway_s:
            return cached[0]
        principal, expires = self._verify(token)
        if len(self._verified) >= 10_000:
            self._verified.clear()  # bounded; a miss only costs one verification
        self._verified[token] = (principal, expires)
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            key, algorithms, own = self._key_for(header)
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.audiences,
                issuer=self.issuer,
                leeway=self.leeway_s,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("the token has expired; log in again") from exc
        except (jwt.InvalidTokenError, jwt.PyJWKClientError) as exc:
            raise Unauthenticated(f"the token is not valid: {exc}") from exc
        if float(claims["exp"]) - float(claims["iat"]) > self.max_lifetime_s:
            raise Unauthenticated(
                f"the token lives longer than {self.max_lifetime_s} s; ask for a shorter one"
            )
        try:
            role = Role(str(claims.get(self.role_claim)))
        except ValueError as exc:
            raise Unauthenticated("the token carries no known role") from exc
        if role is Role.SERVICE and not own:
            # The service role moves stock at inventory: only this system's own key grants it,
            # never an identity provider's token, whatever its claims say.
            raise Unauthenticated("an identity provider's token cannot act as a service")
        audience = claims["aud"] if isinstance(claims["aud"], str) else claims["aud"][0]
        return Principal(str(claims["sub"]), role, audience), float(claims["exp"])

    def _key_for(self, header: dict[str, Any]) -> tuple[Any, list[str], bool]:
        """The key and algorithms to check with, and whether they are this system's own."""
        # Our own tokens carry no key id; an identity provider's name theirs in the JWKS.
        if self._jwks is not None and header.get("kid"):
            return self._jwks.get_signing_key(header["kid"]).key, self._jwks_algorithms, False
        return self._key, [OWN_ALGORITHM], True


class ServiceTokens:
    """The order service's own short-lived token for inventory, renewed before it expires."""

    def __init__(
        self,
        issuer: TokenIssuer,
        *,
        subject: str = "order-service",
        audience: str = "inventory",
        ttl_s: int = 300,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.issuer, self.subject, self.audience, self.ttl_s = issuer, subject, audience, ttl_s
        self.clock = clock
        self._lock = threading.Lock()
        self._token = ""
        self._renew_at = float("-inf")

    def __call__(self) -> str:
        """A token valid for at least a fifth of its lifetime more."""
        with self._lock:
            if self.clock() >= self._renew_at:
                self._token = self.issuer.issue(
                    self.subject, Role.SERVICE, self.audience, self.ttl_s
                )
                self._renew_at = self.clock() + self.ttl_s * 0.8
            return self._token


def verifier_from(settings: Settings, audiences: Sequence[str]) -> TokenVerifier:
    """The verifier both services build: our key, and an identity provider's if configured."""
    return TokenVerifier(
        settings.auth_verify_key,
        settings.auth_issuer,
        audiences,
        leeway_s=settings.auth_leeway_s,
        role_claim=settings.auth_role_claim,
        jwks_url=settings.auth_jwks_url,
        jwks_algorithms=settings.auth_jwks_algorithms.split(","),
        max_lifetime_s=settings.auth_max_token_lifetime_s,
    )
