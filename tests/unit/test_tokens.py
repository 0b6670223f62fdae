"""Tokens: issued and verified with the pinned algorithm; anything else is Unauthenticated."""

import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared.auth import Role
from shared.auth.tokens import ServiceTokens, TokenIssuer, TokenVerifier
from shared.config import Settings
from shared.errors import Unauthenticated

S = Settings()


def admin_claims():
    """Well-formed admin claims, for tokens whose signature is what is wrong."""
    now = int(time.time())
    return {
        "sub": "x",
        "role": "admin",
        "iss": S.auth_issuer,
        "aud": "orders-api",
        "iat": now,
        "exp": now + 60,
    }


def verifier(audiences=("orders-api",)):
    return TokenVerifier(S.auth_verify_key, S.auth_issuer, list(audiences))


def issuer(clock=time.time):
    return TokenIssuer(S.auth_signing_key, S.auth_issuer, clock=clock)


def test_a_fresh_token_names_its_subject_role_and_audience():
    token = issuer().issue("c-1", Role.CUSTOMER, "orders-api", 900)

    principal = verifier().verify(token)

    assert (principal.subject, principal.role, principal.audience) == (
        "c-1",
        Role.CUSTOMER,
        "orders-api",
    )
    assert verifier().verify(token) == principal  # and again (from the cache)


@pytest.mark.parametrize(
    "token",
    [
        issuer(clock=lambda: time.time() - 3600).issue("c-1", Role.CUSTOMER, "orders-api", 900),
        issuer().issue("c-1", Role.CUSTOMER, "inventory", 900),  # meant for another audience
        jwt.encode(
            admin_claims(),
            Ed25519PrivateKey.generate(),
            algorithm="EdDSA",
        ),
        jwt.encode(
            admin_claims(),
            None,
            algorithm="none",
        ),
        "not.a.token",
    ],
    ids=["expired", "other-audience", "other-key", "alg-none", "garbage"],
)
def test_anything_but_a_valid_token_for_this_audience_is_unauthenticated(token):
    with pytest.raises(Unauthenticated):
        verifier().verify(token)


def test_the_service_token_is_renewed_before_it_expires():
    now = [0.0]
    tokens = ServiceTokens(issuer(), ttl_s=100, clock=lambda: now[0])

    first = tokens()
    now[0] = 79.0
    same = tokens()
    now[0] = 81.0
    renewed = tokens()

    assert first == same and renewed != first
    assert verifier(["inventory"]).verify(renewed).role is Role.SERVICE
