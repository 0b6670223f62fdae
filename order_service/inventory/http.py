"""The plain HTTP adapter: one request per command, no retries (the resilience layer adds them)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from order_service.domain import OrderLine
from order_service.inventory.port import (
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    ReservationState,
)
from order_service.inventory.wire import reserve_payload
from shared.admission import DEADLINE_HEADER
from shared.forks import renew_after_fork
from shared.resilience.failures import Reason, retry_after_header


class HttpInventory:
    """Inventory over HTTP with pooled connections and per-call connect/read timeouts."""

    def __init__(
        self,
        base_url: str,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        pool_size: int = 16,
        headers: Mapping[str, str] | None = None,
        session: requests.Session | None = None,
        token: Callable[[], str] | None = None,
        context: Callable[[], Mapping[str, str]] = dict,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/api/v1"
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.session = session or requests.Session()
        # Inventory is a peer inside the deployment, never reached through a proxy or with
        # .netrc credentials; without this, requests reads the proxy variables and .netrc on
        # every call (a tenth of the client's CPU per order).
        self.session.trust_env = False
        # One connection per thread that may call at once; more would only sit idle.
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.extra_headers = dict(headers or {})
        self.token = token  # the order service's own identity, renewed before it expires
        # Headers of the request being served (its X-Request-ID), so one order can be followed
        # across both services; the web layer provides them, this adapter knows no Flask.
        self.context = context
        # A forked child drops its copies of the parent's keep-alive sockets; the pools refill.
        renew_after_fork(self.session, lambda session: session.close())

    def reserve(
        self, reservation_id: str, lines: Sequence[OrderLine], *, timeout_s: float | None = None
    ) -> InventoryReply:
        body = reserve_payload(lines)
        return self._call("PUT", f"/reservations/{reservation_id}", body, timeout_s)

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self._call("POST", f"/reservations/{reservation_id}/release", None, timeout_s)

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self._call("POST", f"/reservations/{reservation_id}/commit", None, timeout_s)

    def available(self) -> bool:
        return True

    def ping(self) -> bool:
        """Does inventory answer its liveness probe within a second?"""
        try:
            health = self.base_url.removesuffix("/api/v1") + "/health/live"
            return self.session.get(health, timeout=(0.5, 1.0)).status_code == 200
        except requests.RequestException:
            return False

    def _call(
        self, method: str, path: str, body: dict[str, Any] | None, timeout_s: float | None
    ) -> InventoryReply:
        read = self.read_timeout_s if timeout_s is None else min(self.read_timeout_s, timeout_s)
        connect = min(self.connect_timeout_s, read)
        try:
            response = self.session.request(
                method,
                self.base_url + path,
                json=body,
                timeout=(connect, read),
                headers=self.extra_headers
                | dict(self.context())
                | self._auth()
                # How long this attempt will be waited for: inventory refuses the request
                # rather than start it once that has passed in its queue (shared.admission).
                | {DEADLINE_HEADER: str(int(read * 1000))},
            )
        except requests.Timeout as exc:
            raise InventoryUnavailable(Reason.TIMEOUT, str(exc)) from exc
        except requests.RequestException as exc:
            raise InventoryUnavailable(Reason.CONNECTION, str(exc)) from exc
        return _reply(response)

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token()}"} if self.token else {}


def _reply(response: requests.Response) -> InventoryReply:
    status = response.status_code
    if status in (401, 403):
        raise InventoryUnavailable(Reason.UNAUTHORISED, f"HTTP {status}")
    if status >= 500 or status == 429:
        raise _server_error(status, retry_after_header(response.headers))
    try:
        data = response.json()
    except ValueError as exc:
        raise _server_error(status, None) from exc
    if status >= 400:
        error = data.get("error", {}) if isinstance(data, dict) else {}
        raise InventoryRefused(status, error.get("code", "UNKNOWN"), error.get("message", ""))
    prices = {
        line["sku"]: (line["unit_price_cents"], line["currency"])
        for line in data.get("lines") or []
        if line.get("unit_price_cents") is not None
    }
    return InventoryReply(
        ReservationState(data["status"]), list(data.get("shortages") or []), prices
    )


def _server_error(status: int, retry_after_s: float | None) -> InventoryUnavailable:
    """A 5xx or 429, or an answer that is no JSON: no answer, perhaps worth another try."""
    return InventoryUnavailable(
        Reason.SERVER_ERROR, f"HTTP {status}", status=status, retry_after_s=retry_after_s
    )
