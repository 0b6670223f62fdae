"""What the audit reads: both services' public APIs, with the order service's own identity.

Through the APIs and not the tables: the audit sees what every client sees, and it needs no
access to inventory's database, which the order service must never have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import requests

TIMEOUT_S = (2.0, 30.0)


class SourceUnavailable(RuntimeError):
    """A service did not answer a read as expected; the audit cannot judge and says so."""


class ApiSources:
    def __init__(
        self,
        order_url: str,
        inventory_url: str,
        order_token: Callable[[], str],
        inventory_token: Callable[[], str],
        http: requests.Session | None = None,
        payments: tuple[str, str] | None = None,
    ) -> None:
        self.order_api = order_url.rstrip("/") + "/api/v1"
        self.inventory_api = inventory_url.rstrip("/") + "/api/v1"
        self.order_token, self.inventory_token = order_token, inventory_token
        # The provider's API and the merchant's key, to read every payment (None: not audited).
        self.payments = payments
        self.http = http or requests.Session()
        self.http.headers["User-Agent"] = "order-audit"

    def _get(
        self,
        url: str,
        token: Callable[[], str],
        params: dict[str, Any],
        *,
        missing_ok: bool = False,
    ) -> Any:
        """The JSON of a 200; None for a 404 when ``missing_ok`` (one order or reservation)."""
        try:
            response = self.http.get(
                url,
                params={k: v for k, v in params.items() if v is not None},
                headers={"Authorization": f"Bearer {token()}"},
                timeout=TIMEOUT_S,
            )
        except requests.RequestException as exc:
            raise SourceUnavailable(f"{url}: {exc}") from exc
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code != 200:
            raise SourceUnavailable(f"{url}: HTTP {response.status_code} {response.text[:200]}")
        return response.json()

    def orders(self, status: str, created_since: datetime | None) -> Iterator[dict[str, Any]]:
        """Orders in ``status``, newest first, back to ``created_since`` (None: all of them)."""
        cursor = None
        while True:
            page = self._get(
                f"{self.order_api}/orders",
                self.order_token,
                {"status": status, "limit": 100, "cursor": cursor},
            )
            for order in page["items"]:
                if created_since and datetime.fromisoformat(order["created_at"]) < created_since:
                    return
                yield order
            cursor = page["next_cursor"]
            if not cursor:
                return

    def order(self, order_id: str) -> dict[str, Any] | None:
        """One order, or None when the order service has no such order."""
        return self._get(  # type: ignore[no-any-return]
            f"{self.order_api}/orders/{order_id}", self.order_token, {}, missing_ok=True
        )

    def reservations(
        self, status: str | None = None, updated_since: datetime | None = None
    ) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            page = self._get(
                f"{self.inventory_api}/reservations",
                self.inventory_token,
                {
                    "status": status,
                    "updated_since": updated_since.isoformat() if updated_since else None,
                    "after": after,
                    "limit": 500,
                },
            )
            yield from page["items"]
            after = page["next_after"]
            if not after:
                return

    def reservation(self, reservation_id: str) -> dict[str, Any] | None:
        return self._get(  # type: ignore[no-any-return]
            f"{self.inventory_api}/reservations/{reservation_id}",
            self.inventory_token,
            {},
            missing_ok=True,
        )

    def stock(self) -> list[dict[str, Any]]:
        page = self._get(f"{self.inventory_api}/stock/check", self.inventory_token, {})
        return page["items"]  # type: ignore[no-any-return]

    def intents(self) -> Iterator[dict[str, Any]] | None:
        """Every payment at the provider, oldest first; None when payments are not audited."""
        if self.payments is None:
            return None
        url, key = self.payments
        return self._intents(url.rstrip("/") + "/v1/payment_intents", key)

    def _intents(self, url: str, key: str) -> Iterator[dict[str, Any]]:
        after = None
        while True:
            page = self._get(url, lambda: key, {"limit": 1000, "after": after})
            yield from page["items"]
            if len(page["items"]) < 1000:
                return
            after = page["items"][-1]["id"]
