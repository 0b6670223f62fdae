"""Tokens: issued and verified with the pinned algorithm; anything else is Unauthenticated."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from jwt.algorithms import RSAAlgorithm

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


def test_a_token_that_lives_longer_than_the_limit_is_refused_whoever_signed_it():
    ten_years = issuer().issue("c-1", Role.CUSTOMER, "orders-api", 10 * 365 * 86400)
    a_day = issuer().issue("c-1", Role.CUSTOMER, "orders-api", 86400)

    with pytest.raises(Unauthenticated, match="lives longer than 86400 s"):
        verifier().verify(ten_years)
    assert verifier().verify(a_day).subject == "c-1"


@pytest.fixture
def identity_provider():
    """A real JWKS endpoint on 127.0.0.1 with one RSA key; yields (url, key, kid)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
    jwk.update(kid="idp-1", use="sig", alg="RS256")
    body = json.dumps({"keys": [jwk]}).encode()

    class Keys(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Keys)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/jwks.json", key
    server.shutdown()
    thread.join()
    server.server_close()


def test_an_identity_providers_token_may_be_a_customer_or_an_admin_never_the_service(
    identity_provider,
):
    url, key = identity_provider
    checking = TokenVerifier(
        S.auth_verify_key, S.auth_issuer, ["orders-api", "inventory"], jwks_url=url
    )

    def from_idp(role, audience="orders-api"):
        claims = {**admin_claims(), "role": role, "aud": audience}
        return jwt.encode(claims, key, algorithm="RS256", headers={"kid": "idp-1"})

    assert checking.verify(from_idp("admin")).role is Role.ADMIN
    with pytest.raises(Unauthenticated, match="cannot act as a service"):
        checking.verify(from_idp("service", "inventory"))
    # The system's own key still grants the service role.
    own = issuer().issue("order-service", Role.SERVICE, "inventory", 300)
    assert checking.verify(own).role is Role.SERVICE
