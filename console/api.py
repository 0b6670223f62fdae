"""The console's one way to the two services: their public HTTP APIs, with the caller's token.

Every answer is either the JSON body of a success or an ``ApiError`` carrying the API's code, its
plain message and its per-field messages, so that a page can say what went wrong in words.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

# Long enough for the slowest answer the order API gives on purpose: a placement waits up to the
# reserve deadline (6 s by default) before it answers 202 PENDING.
TIMEOUT_S = (2.0, 15.0)
# The longest a page waits, once, for a service at capacity that asked it to come back.
MAX_WAIT_MS = 1000


@dataclass
class ApiError(Exception):
    """The API refused, or could not be reached (``status`` 0)."""

    status: int
    code: str
    message: str
    fields: dict[str, list[str]] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def flatten(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages (``{"items": {"0": {"sku": [...]}}}``) as flat
    ``{"items.0.sku": [...]}``, which a page can put beside the field they are about."""
    if isinstance(messages, Mapping):
        flat: dict[str, list[str]] = {}
        for key, value in messages.items():
            flat.update(flatten(value, f"{prefix}.{key}" if prefix else str(key)))
        return flat
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return {prefix: list(messages)}
    return {prefix: [str(messages)]}


def _error(response: requests.Response) -> ApiError:
    try:
        error = response.json().get("error", {})
    except ValueError:
        error = {}
    details = error.get("details") or {}
    return ApiError(
        response.status_code,
        error.get("code") or f"HTTP_{response.status_code}",
        error.get("message") or response.reason or "the service refused",
        flatten(details.get("fields") or {}),
        details,
    )


class Api:
    """The order and inventory APIs as the person using the console may call them."""

    def __init__(
        self,
        order_url: str,
        inventory_url: str,
        *,
        forwarded: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.order_url = order_url.rstrip("/")
        self.inventory_url = inventory_url.rstrip("/")
        self.http = requests.Session()  # pooled connections, shared by the console's threads
        # Headers naming the browser behind the request being served (``shared.clients``), so
        # the order service limits each console user on their own; the app provides them.
        self.forwarded = forwarded

    def call(
        self,
        method: str,
        url: str,
        *,
        token: str | None = None,
        body: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, Any]:
        """One request; the status and JSON body of a success, or ``ApiError``."""
        sent = {**self.forwarded(), **(headers or {})}
        if token:
            sent["Authorization"] = f"Bearer {token}"
        try:
            response = self._send(method, url, body, params, sent)
        except requests.RequestException as exc:
            service = "order" if url.startswith(self.order_url) else "inventory"
            raise ApiError(
                0, "UNREACHABLE", f"the {service} service did not answer; try again in a moment"
            ) from exc
        if response.status_code >= 400:
            raise _error(response)
        return response.status_code, response.json() if response.content else None

    def _send(
        self,
        method: str,
        url: str,
        body: Any,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> requests.Response:
        """One request, and once more if the service was at capacity and asked for a short wait:
        an ``OVERLOADED`` answer means nothing was done, so sending it again is safe, and a
        person would rather wait a tenth of a second than read an error."""
        response = self.http.request(
            method, url, json=body, params=params, headers=headers, timeout=TIMEOUT_S
        )
        wait_ms = response.headers.get("Retry-After-Ms", "")
        if response.status_code == 503 and wait_ms.isdigit() and int(wait_ms) <= MAX_WAIT_MS:
            time.sleep(int(wait_ms) / 1000)
            response = self.http.request(
                method, url, json=body, params=params, headers=headers, timeout=TIMEOUT_S
            )
        return response

    def orders(self, path: str) -> str:
        return f"{self.order_url}/api/v1{path}"

    def inventory(self, path: str) -> str:
        return f"{self.inventory_url}/api/v1{path}"

    # Accounts
    def signup(self, email: str, password: str) -> None:
        self.call("POST", self.orders("/auth/signup"), body={"email": email, "password": password})

    def login(self, email: str, password: str) -> dict[str, Any]:
        body = {"email": email, "password": password}
        return self.call("POST", self.orders("/auth/login"), body=body)[1]  # type: ignore[no-any-return]

    # Orders
    def place(
        self,
        token: str,
        items: list[dict[str, Any]],
        key: str,
        address: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """``POST /orders``; a 422 rejection comes back as ``ApiError`` with the order id."""
        body: dict[str, Any] = {"items": items}
        if address is not None:
            body["shipping_address"] = address
        headers = {"Idempotency-Key": key}
        return self.call("POST", self.orders("/orders"), token=token, body=body, headers=headers)

    def order(self, token: str, order_id: str) -> dict[str, Any]:
        return self.call("GET", self.orders(f"/orders/{order_id}"), token=token)[1]  # type: ignore[no-any-return]

    def list_orders(self, token: str, **query: Any) -> dict[str, Any]:
        params = {k: v for k, v in query.items() if v}
        return self.call("GET", self.orders("/orders"), token=token, params=params)[1]  # type: ignore[no-any-return]

    def act(self, token: str, order_id: str, action: str) -> dict[str, Any]:
        """cancel, ship or deliver."""
        return self.call("POST", self.orders(f"/orders/{order_id}/{action}"), token=token)[1]  # type: ignore[no-any-return]

    def start_payment(self, token: str, order_id: str, return_url: str) -> dict[str, Any]:
        """The order's payment (made now or before), with the pay page's address."""
        body = {"return_url": return_url}
        path = self.orders(f"/orders/{order_id}/payments")
        return self.call("POST", path, token=token, body=body)[1]  # type: ignore[no-any-return]

    def dead_letters(self, token: str) -> list[dict[str, Any]]:
        path = self.orders("/payments/dead-letters")
        return self.call("GET", path, token=token)[1]["items"]  # type: ignore[no-any-return]

    def resolve_dead_letter(self, token: str, event_id: str, action: str) -> None:
        """``replay`` or ``discard`` one dead payment event."""
        self.call("POST", self.orders(f"/payments/dead-letters/{event_id}/{action}"), token=token)

    # Stock and gremlins
    def products(self) -> list[dict[str, Any]]:
        """Every product, following the pages."""
        found: list[dict[str, Any]] = []
        after = None
        while True:
            params = {"limit": 100, **({"after": after} if after else {})}
            page = self.call("GET", self.inventory("/products"), params=params)[1]
            found += page["items"]
            after = page.get("next_after")
            if not after:
                return found

    def gremlins(self) -> dict[str, Any]:
        return self.call("GET", f"{self.inventory_url}/chaos")[1]  # type: ignore[no-any-return]

    def put_gremlin(self, token: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        url = f"{self.inventory_url}/chaos/{name}"
        return self.call("PUT", url, token=token, body=body)[1]  # type: ignore[no-any-return]

    def remove_gremlin(self, token: str, name: str) -> None:
        self.call("DELETE", f"{self.inventory_url}/chaos/{name}", token=token)

    def reset_gremlins(self, token: str) -> None:
        self.call("DELETE", f"{self.inventory_url}/chaos", token=token)

    # What the status strip reads: both are public on the order service.
    def health(self) -> dict[str, Any]:
        try:
            response = self.http.get(f"{self.order_url}/health", timeout=TIMEOUT_S)
            return response.json()  # type: ignore[no-any-return]
        except (requests.RequestException, ValueError) as exc:
            raise ApiError(0, "UNREACHABLE", "the order service did not answer") from exc

    def metrics_text(self) -> str:
        try:
            response = self.http.get(f"{self.order_url}/metrics", timeout=TIMEOUT_S)
            response.raise_for_status()
        except requests.RequestException as exc:
            raise ApiError(0, "UNREACHABLE", "the order service's metrics did not answer") from exc
        return response.text
