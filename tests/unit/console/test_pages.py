"""The console's pages without the services: what it does when they cannot be reached, who may
see what, and CSRF. The flows against the real services are in tests/browser."""

import re
import time

import pytest

from console.api import Api
from console.app import SECURITY_HEADERS, create_app
from console.session import local_target
from shared.config import ConfigError, Settings

# The discard and echo ports: nothing answers there.
NOWHERE = "http://127.0.0.1:9"
NOWHERE_ELSE = "http://127.0.0.1:7"


@pytest.fixture
def app():
    settings = Settings(app_env="test", order_url=NOWHERE, inventory_url=NOWHERE_ELSE)
    return create_app(settings)


@pytest.fixture
def client(app):
    return app.test_client()


def _csrf(client, path):
    page = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def _signed_in(client, role="customer", expires_in=600):
    with client.session_transaction() as session:
        session.update(
            token="a-token", role=role, email="me@example.com", expires_at=time.time() + expires_in
        )


def test_a_form_posted_without_its_csrf_token_is_refused_in_plain_words(client):
    answer = client.post("/login", data={"email": "me@example.com", "password": "x" * 12})
    assert answer.status_code == 400
    assert "did not come from this console" in answer.get_data(as_text=True)


def test_an_order_service_that_does_not_answer_is_said_in_words(client):
    token = _csrf(client, "/login")
    answer = client.post(
        "/login", data={"csrf_token": token, "email": "me@example.com", "password": "x" * 12}
    )
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "The order service did not answer" in page
    assert "Traceback" not in page


def test_pages_need_a_login_and_bring_you_back_after_it(client):
    answer = client.get("/orders?status=PENDING")
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/orders?status%3DPENDING"


def test_a_page_script_asking_without_a_session_gets_a_bare_401(client):
    answer = client.get("/orders/rows", headers={"X-Requested-With": "fetch"})
    assert answer.status_code == 401


def test_admin_pages_send_a_customer_back_to_their_orders(client):
    _signed_in(client, role="customer")
    answer = client.get("/admin/gremlins")
    assert answer.status_code == 302 and answer.headers["Location"] == "/orders"


def test_an_expired_session_asks_for_the_login_again(client):
    _signed_in(client, expires_in=-1)
    answer = client.get("/orders", follow_redirects=True)
    assert "Your session has ended" in answer.get_data(as_text=True)


def test_the_api_token_is_never_on_a_page(client):
    _signed_in(client)
    page = client.get("/orders/new").get_data(as_text=True)
    assert "Place an order" in page and "a-token" not in page


def test_the_session_cookie_is_signed_http_only_and_same_site(app):
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    client = app.test_client()
    _signed_in(client)
    cookie = client.get_cookie("console_session")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert client.get("/orders/new").status_code == 200

    # Signed, not encrypted: a changed cookie is no session at all.
    client.set_cookie("console_session", cookie.value[:-4] + "AAAA")
    assert client.get("/orders/new").status_code == 302


def test_every_page_carries_the_security_headers(client):
    answer = client.get("/login")
    for name, value in SECURITY_HEADERS.items():
        if name != "Content-Security-Policy":
            assert answer.headers[name] == value
    # Forms post here only; the answer to one may lead on to the provider's pay page alone.
    policy = answer.headers["Content-Security-Policy"]
    assert "form-action 'self' http://127.0.0.1:3004;" in policy
    assert (
        policy.replace(" http://127.0.0.1:3004", "") == SECURITY_HEADERS["Content-Security-Policy"]
    )


def test_an_unexpected_failure_is_a_page_in_words_not_a_stack_trace():
    class Broken(Api):
        def list_orders(self, token, **query):
            raise RuntimeError("boom")

    app = create_app(Settings(app_env="test"), Broken(NOWHERE, NOWHERE))
    client = app.test_client()
    _signed_in(client)
    answer = client.get("/orders")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 500
    assert "Something went wrong in the console" in page and "boom" not in page


def test_production_refuses_the_default_console_secret():
    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY"):
        Settings(app_env="production").console_secret()


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        ("/orders", True),
        ("//evil.example/x", False),
        ("https://evil.example", False),
        ("/\\evil.example", False),
        (None, False),
        # Browsers drop tabs and newlines before following a URL: these are "//evil.example".
        ("/\t/evil.example", False),
        ("/\n/evil.example", False),
        ("/\r\n/evil.example", False),
        ("/ /evil.example", False),
        ("/orders?status=PENDING", True),
        ("/%2F%2Fevil.example", True),  # a path on this console, however odd
    ],
)
def test_after_the_login_you_only_go_to_a_page_of_this_console(raw, kept):
    assert (local_target(raw, "/default") == raw) is kept


class LogsIn(Api):
    """An order service that lets anyone in (the redirect after the login is under test)."""

    def login(self, email, password):
        return {
            "access_token": "a-token",
            "token_type": "bearer",
            "expires_in": 600,
            "role": "customer",
        }


@pytest.mark.parametrize("sneaky", ["/%09/evil.example", "/%0a/evil.example", "/%0d%0aX:%20y"])
def test_a_next_with_a_tab_or_newline_sends_you_to_your_orders_not_away_or_to_a_500(sneaky):
    app = create_app(Settings(app_env="test"), api=LogsIn(NOWHERE, NOWHERE_ELSE))
    client = app.test_client()
    token = _csrf(client, "/login")

    answer = client.post(
        f"/login?next={sneaky}",
        data={"csrf_token": token, "email": "me@example.com", "password": "x" * 12},
    )

    assert (answer.status_code, answer.headers["Location"]) == (302, "/orders")


def test_when_the_services_do_not_answer_an_admin_sees_it_on_the_page_and_the_strip(client):
    _signed_in(client, role="admin")
    answer = client.get("/admin/stock")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 503
    assert "The inventory service did not answer" in page
    assert 'data-light="unknown"' in page
    assert "The order service did not answer." in page
