"""Who is calling (shared.clients): X-Forwarded-For only from trusted proxies, read from the
right; a browser's address named by the console only with the console's key."""

import pytest

from console.app import create_app as create_console
from order_service.app import create_app
from shared.clients import ClientAddresses, networks
from shared.config import ConfigError, Settings
from tests.fakes.inventory import FakeInventory

PROXY = ClientAddresses(networks("10.0.0.0/8, 127.0.0.1"), console_key="k" * 32)


def env(peer, forwarded=None, **headers):
    environ = {"REMOTE_ADDR": peer}
    if forwarded is not None:
        environ["HTTP_X_FORWARDED_FOR"] = forwarded
    environ.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return environ


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        ("203.0.113.9", None, "203.0.113.9"),  # no proxy
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # an untrusted peer's header is ignored
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),  # HAProxy names the client
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client wrote is left
        ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # two of our proxies
        ("127.0.0.1", "10.1.2.3", "10.1.2.3"),  # only proxies: the furthest one
        ("127.0.0.1", "not-an-address, 10.1.2.3", "10.1.2.3"),  # garbage ends the walk
        ("127.0.0.1", "", "127.0.0.1"),
        ("::1", "198.51.100.7", "::1"),  # ::1 is not in the list
    ],
)
def test_forwarded_for_is_believed_only_as_far_as_trusted_proxies_wrote_it(peer, forwarded, client):
    assert PROXY.of(env(peer, forwarded)) == client


def test_the_console_names_the_browser_only_with_its_key():
    named = env(
        "127.0.0.1", "127.0.0.1", x_forwarded_client="198.51.100.20", x_console_key="k" * 32
    )
    assert PROXY.of(named) == "198.51.100.20"
    forged = env("127.0.0.1", None, x_forwarded_client="198.51.100.20", x_console_key="guess")
    assert PROXY.of(forged) == "127.0.0.1"
    keyless = ClientAddresses(networks("127.0.0.1"))
    assert keyless.of(named) == "127.0.0.1"
    garbage = env("127.0.0.1", None, x_forwarded_client="me", x_console_key="k" * 32)
    assert PROXY.of(garbage) == "127.0.0.1"


def test_a_trusted_proxy_that_is_no_address_is_a_configuration_error():
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        networks("10.0.0.0/8, haproxy")


def test_console_users_are_limited_each_on_their_own_address():
    """Two failed logins per address: one console user failing does not lock out the next."""
    settings = Settings(
        orders_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
        rate_limit_auth_per_address="2/minute",
        console_forward_key="k" * 32,
        log_level="WARNING",
    )
    client = create_app(settings, inventory=FakeInventory()).test_client()
    body = {"email": "someone@example.com", "password": "whatever-1"}

    def login(browser):
        return client.post(
            "/api/v1/auth/login",
            json=body,
            headers={"X-Forwarded-Client": browser, "X-Console-Key": "k" * 32},
        ).status_code

    first = [login("198.51.100.1") for _ in range(3)]
    assert first[2] == 429  # that browser is over its limit ...
    assert login("198.51.100.2") != 429  # ... another is not (503: no database here)


def test_the_console_names_the_browser_behind_its_own_proxy_with_its_key():
    settings = Settings(trusted_proxies="127.0.0.1", console_forward_key="k" * 32)
    app = create_console(settings)
    forwarded = app.extensions["console_api"].forwarded
    assert forwarded() == {}  # outside a request (the status strip's own reads): nobody to name
    with app.test_request_context(
        environ_base={"REMOTE_ADDR": "127.0.0.1"}, headers={"X-Forwarded-For": "198.51.100.3"}
    ):
        assert forwarded() == {"X-Forwarded-Client": "198.51.100.3", "X-Console-Key": "k" * 32}
    without_key = create_console(Settings(trusted_proxies="127.0.0.1"))
    with without_key.test_request_context():
        assert without_key.extensions["console_api"].forwarded() == {}
