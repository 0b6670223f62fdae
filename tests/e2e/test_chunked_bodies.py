"""A body sent with ``Transfer-Encoding: chunked`` (no Content-Length) is checked as any other:
too deep or too large is a 4xx, never a 500 with a traceback, on every JSON route."""

import pytest

from shared.auth import Role
from shared.web import MAX_JSON_DEPTH

pytestmark = pytest.mark.e2e
DEEP = "[" * 5000 + "]" * 5000


def _routes(live):
    orders, inventory = live.orders, live.inventory
    admin = live.auth()
    service = live.auth("orders", Role.SERVICE, "inventory")
    root = f"http://127.0.0.1:{live.inventory_port}"
    return [
        ("POST", f"{orders}/auth/signup", {}),
        ("POST", f"{orders}/auth/login", {}),
        ("POST", f"{orders}/orders", admin),
        ("POST", f"{inventory}/products", admin),
        ("POST", f"{inventory}/products/A/restock", admin),
        ("PUT", f"{inventory}/reservations/r-1", service),
        ("PUT", f"{root}/chaos/x", admin),
    ]


def _chunked(text: str, size: int = 1024):
    data = text.encode()
    return (data[i : i + size] for i in range(0, len(data), size))


def test_a_chunked_body_nested_too_deep_is_a_400_on_every_json_route(live):
    for method, url, headers in _routes(live):
        response = live.http.request(
            method,
            url,
            data=_chunked(DEEP),  # a generator: requests sends it chunked
            headers={**headers, "Content-Type": "application/json"},
            timeout=30,
        )

        assert response.status_code == 400, (url, response.text[:300])
        assert f"deeper than {MAX_JSON_DEPTH}" in response.text, url


def test_a_chunked_body_over_the_size_limit_is_a_413(live):
    big = '{"email": "' + "a" * (live.settings.max_body_bytes + 10) + '"}'
    for method, url, headers in _routes(live):
        response = live.http.request(
            method,
            url,
            data=_chunked(big, 8192),
            headers={**headers, "Content-Type": "application/json"},
            timeout=30,
        )

        assert response.status_code == 413, (url, response.text[:300])
