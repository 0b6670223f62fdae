"""Who may do what, through the real services: accounts, tokens, ownership, the attack.

See docs/who-may-do-what.md; every route that changes state is swept from the OpenAPI documents,
so a route added later without protection fails here.
"""

import base64
import hashlib
import hmac
import json
import time
import uuid

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lab.invariants import nothing_needs_attention
from shared.auth import Role
from shared.config import Settings
from tests.helpers import wait_until

SETTINGS = Settings()
MUTATING = {"post", "put", "patch", "delete"}
# Routes a customer may call to change state; every other one is an admin's (or the service's).
CUSTOMER_ROUTES = {
    "/api/v1/orders",
    "/api/v1/orders/{order_id}/cancel",
    "/api/v1/orders/{order_id}/payments",
    "/api/v1/payments/initiate",
}
# The provider's webhook carries no token: its signature is its credential (a missing or bad
# one is 401 SIGNATURE_INVALID, tests/e2e/test_webhooks.py).
ANONYMOUS_ROUTES = {"/api/v1/auth/signup", "/api/v1/auth/login", "/api/v1/payments/webhook"}


def claims(**changes):
    now = int(time.time())
    base = {
        "sub": "intruder",
        "role": "admin",
        "iss": SETTINGS.auth_issuer,
        "aud": SETTINGS.auth_audience,
        "iat": now,
        "exp": now + 600,
    }
    return {**base, **changes}


def forged_hs256(payload, secret):
    """An HS256 token keyed with the public key (the HS/RS confusion attack), made by hand."""

    def part(raw):
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    header = part(b'{"alg":"HS256","typ":"JWT"}')
    signing_input = header + "." + part(json.dumps(payload).encode())
    mac = hmac.new(secret.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{part(mac)}"


def own_key_token(**changes):
    return jwt.encode(claims(**changes), SETTINGS.auth_signing_key, algorithm="EdDSA")


BAD_TOKENS = {
    "no token": None,
    "expired": own_key_token(iat=int(time.time()) - 7200, exp=int(time.time()) - 3600),
    "another key": jwt.encode(claims(), Ed25519PrivateKey.generate(), algorithm="EdDSA"),
    "alg none": jwt.encode(claims(), None, algorithm="none"),
    "HS256 with the public key as secret": forged_hs256(claims(), SETTINGS.auth_verify_key),
    "wrong issuer": own_key_token(iss="someone-else"),
}


def routes(base):
    doc = requests.get(base.removesuffix("/api/v1") + "/openapi.json", timeout=5).json()
    for path, operations in doc["paths"].items():
        for method in operations.keys() & MUTATING:
            yield path, method


def call(base, path, method, token):
    url = base.removesuffix("/api/v1") + path.replace("{order_id}", str(uuid.uuid4()))
    url = url.replace("{sku}", "ANY-1").replace("{reservation_id}", "r-1").replace("{name}", "g")
    url = url.replace("{event_id}", "evt_1")
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return requests.request(method, url, json={}, headers=headers, timeout=10)


@pytest.mark.parametrize("bad", sorted(BAD_TOKENS))
def test_every_route_that_changes_state_refuses_a_missing_or_bad_token(live, bad):
    checked = []
    for base in (live.orders, live.inventory):
        for path, method in routes(base):
            if path in ANONYMOUS_ROUTES:
                continue
            response = call(base, path, method, BAD_TOKENS[bad])
            checked.append((method, path))
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"]["code"] == "UNAUTHENTICATED"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert len(checked) >= 10  # both documents were read


def test_a_customer_token_on_an_admin_or_service_route_is_forbidden(live):
    customer = live.auth("c-1", Role.CUSTOMER)["Authorization"].removeprefix("Bearer ")
    checked = 0
    for base in (live.orders, live.inventory):
        for path, method in routes(base):
            if path in CUSTOMER_ROUTES | ANONYMOUS_ROUTES:
                continue
            assert call(base, path, method, customer).status_code == 403, (method, path)
            checked += 1
    assert checked >= 7


def signup_and_login(live, email, password="a-good-password-1"):
    created = live.http.post(
        f"{live.orders}/auth/signup", json={"email": email, "password": password}, timeout=10
    )
    assert created.status_code == 201, created.text
    login = live.http.post(
        f"{live.orders}/auth/login", json={"email": email, "password": password}, timeout=10
    ).json()
    assert (login["token_type"], login["role"], login["expires_in"]) == ("bearer", "customer", 900)
    return {"Authorization": f"Bearer {login['access_token']}"}, created.json()["id"]


def test_a_customer_signs_up_orders_and_cancels_and_another_sees_nothing_of_it(live):
    live.create_product("AUTH-1", 10)
    alice, alice_id = signup_and_login(live, f"alice-{uuid.uuid4().hex[:6]}@example.com")
    bob, _ = signup_and_login(live, f"bob-{uuid.uuid4().hex[:6]}@example.com")
    body = {"items": [{"sku": "AUTH-1", "quantity": 1}]}
    placed = live.http.post(
        f"{live.orders}/orders", json=body, headers={**alice, "Idempotency-Key": "k-1"}
    )
    order = placed.json()
    url = f"{live.orders}/orders/{order['id']}"

    assert (placed.status_code, order["customer_id"]) == (201, alice_id)
    assert live.http.get(url, headers=bob).status_code == 404
    assert live.http.post(f"{url}/cancel", headers=bob).status_code == 404
    assert live.http.get(f"{live.orders}/orders", headers=bob).json()["items"] == []
    forbidden = live.http.get(
        f"{live.orders}/orders", params={"customer_id": alice_id}, headers=bob
    )
    assert forbidden.status_code == 403
    # Bob's request with Alice's key is his own, unrelated order: nothing of hers comes back.
    bobs = live.http.post(
        f"{live.orders}/orders", json=body, headers={**bob, "Idempotency-Key": "k-1"}
    )
    assert bobs.status_code == 201 and bobs.json()["id"] != order["id"]
    assert "Idempotent-Replayed" not in bobs.headers
    assert live.http.post(f"{url}/ship", headers=alice).status_code == 403
    cancelled = live.http.post(f"{url}/cancel", headers=alice).json()
    assert cancelled["status"] == "CANCELLED"
    assert cancelled["history"][-1]["actor"] == f"customer:{alice_id}"


def test_a_customer_cannot_place_an_order_in_another_customers_name(live):
    alice, _ = signup_and_login(live, f"al-{uuid.uuid4().hex[:6]}@example.com")
    body = {"customer_id": "someone-else", "items": [{"sku": "AUTH-1", "quantity": 1}]}

    response = live.http.post(f"{live.orders}/orders", json=body, headers=alice)

    assert response.status_code == 400
    assert "customer_id" in response.json()["error"]["details"]["fields"]


def test_the_admin_ships_and_the_history_says_who(live):
    live.create_product("AUTH-2", 10)
    customer = live.auth("c-7", Role.CUSTOMER)
    order = live.http.post(
        f"{live.orders}/orders",
        json={"items": [{"sku": "AUTH-2", "quantity": 2}]},
        headers=customer,
    ).json()

    shipped = live.http.post(
        f"{live.orders}/orders/{order['id']}/ship", headers=live.auth("ops-1", Role.ADMIN)
    ).json()

    assert shipped["status"] == "SHIPPED" and shipped["history"][-1]["actor"] == "admin:ops-1"
    assert live.product("AUTH-2")["on_hand"] == 8


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "not-an-email", "password": "a-good-password-1"}, "email"),
        ({"email": "short@example.com", "password": "short"}, "password"),
        ({"email": "same@example.com", "password": "same@example.com"}, "password"),
        ({"email": "x@example.com"}, "password"),
    ],
)
def test_signup_rules_answer_per_field(live, body, field):
    response = live.http.post(f"{live.orders}/auth/signup", json=body)

    assert response.status_code == 400
    assert field in response.json()["error"]["details"]["fields"]


def test_signing_up_twice_is_a_409_and_signup_never_makes_an_admin(live):
    email = f"Dup-{uuid.uuid4().hex[:6]}@Example.com"
    first = live.http.post(
        f"{live.orders}/auth/signup", json={"email": email, "password": "a-good-password-1"}
    )
    again = live.http.post(
        f"{live.orders}/auth/signup",
        json={"email": email.lower(), "password": "a-good-password-1", "role": "admin"},
    )
    twice = live.http.post(
        f"{live.orders}/auth/signup", json={"email": email.lower(), "password": "another-one-22"}
    )

    assert (first.status_code, first.json()["role"]) == (201, "customer")
    assert again.status_code == 400  # "role" is not a field anyone may send
    assert (twice.status_code, twice.json()["error"]["code"]) == (409, "EMAIL_TAKEN")


def test_a_wrong_password_is_a_401_that_does_not_say_which_part_was_wrong(live):
    email = f"pw-{uuid.uuid4().hex[:6]}@example.com"
    signup_and_login(live, email)

    wrong = live.http.post(
        f"{live.orders}/auth/login", json={"email": email, "password": "not-my-password"}
    )
    nobody = live.http.post(
        f"{live.orders}/auth/login", json={"email": "nobody@example.com", "password": "whatever-1"}
    )

    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json()["error"]["message"] == nobody.json()["error"]["message"]


def test_a_commit_inventory_refuses_flags_the_order_instead_of_settling_it(live, orders_engine):
    live.create_product("AUTH-3", 10)
    customer = live.auth("c-9", Role.CUSTOMER)
    body = {"items": [{"sku": "AUTH-3", "quantity": 1}]}
    order = live.http.post(f"{live.orders}/orders", json=body, headers=customer).json()
    # Arranged: the reservation is released behind the order's back (only the order service's
    # identity can do that now, which is what this test borrows).
    service = live.auth("order-service", Role.SERVICE, audience="inventory")
    released = live.http.post(
        f"{live.inventory}/reservations/{order['id']}/release", headers=service
    )
    assert released.json()["status"] == "RELEASED"

    live.http.post(f"{live.orders}/orders/{order['id']}/ship", headers=live.auth())

    flagged = wait_until(lambda: live.order(order["id"])["attention"])
    assert flagged["command"] == "commit" and "INVALID_TRANSITION" in flagged["reason"]
    assert live.product("AUTH-3")["on_hand"] == 10  # nothing was deducted for a released order
    assert nothing_needs_attention(orders_engine)  # and the chaos invariants report it


def test_weak_passwords_look_alike_addresses_and_ten_year_tokens_are_refused(live):
    signup = f"{live.orders}/auth/signup"
    for weak in ("aaaaaaaaaa", "password12", " " * 10):
        refused = live.http.post(signup, json={"email": "w@example.com", "password": weak})
        assert (refused.status_code, refused.json()["error"]["code"]) == (422, "WEAK_PASSWORD")
        assert refused.json()["error"]["details"]["fields"]["password"]
    email = f"carol-{uuid.uuid4().hex[:6]}@example.com"
    created = live.http.post(signup, json={"email": email, "password": "a-good-password-1"})
    assert created.status_code == 201
    twin = live.http.post(signup, json={"email": email + "\u200b", "password": "a-good-password-1"})
    assert (twin.status_code, twin.json()["error"]["code"]) == (400, "VALIDATION_ERROR")
    # Full-width letters are the same address at login: the same account, nobody else's.
    wide = email.replace("carol", "\uff43\uff41\uff52\uff4f\uff4c")
    login = live.http.post(
        f"{live.orders}/auth/login", json={"email": wide, "password": "a-good-password-1"}
    )
    assert login.status_code == 200
    assert (
        jwt.decode(login.json()["access_token"], options={"verify_signature": False})["sub"]
        == created.json()["id"]
    )

    ten_years = own_key_token(role="customer", exp=int(time.time()) + 10 * 365 * 86400)
    placed = live.http.post(
        f"{live.orders}/orders",
        json={"items": [{"sku": "ANY-1", "quantity": 1}]},
        headers={"Authorization": f"Bearer {ten_years}"},
    )
    assert placed.status_code == 401 and "lives longer" in placed.json()["error"]["message"]
