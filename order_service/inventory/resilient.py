"""The inventory port under the resilience layer: every command through one ``Policy``.

Timeouts, retries, the breaker, the bulkhead, hedging and the deadline are the policy's
(``shared.resilience.policy``); this adapter names the operations and reports health. Whatever
happens, the caller sees an ``InventoryReply``, an ``InventoryRefused`` (a business answer) or
an ``InventoryUnavailable`` with its reason, never a ``requests`` exception.
"""

from __future__ import annotations

from collections.abc import Sequence

from order_service.domain import OrderLine
from order_service.inventory.http import HttpInventory
from order_service.inventory.port import InventoryReply
from shared.resilience.policy import Policy


class ResilientInventory:
    """The inventory port for one process, safe to share between its threads."""

    def __init__(self, inner: HttpInventory, policy: Policy) -> None:
        self.inner = inner
        self.policy = policy

    def reserve(
        self, reservation_id: str, lines: Sequence[OrderLine], *, timeout_s: float | None = None
    ) -> InventoryReply:
        return self.policy.call(
            "reserve", lambda t: self.inner.reserve(reservation_id, lines, timeout_s=t), timeout_s
        )

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self.policy.call(
            "release", lambda t: self.inner.release(reservation_id, timeout_s=t), timeout_s
        )

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        return self.policy.call(
            "commit", lambda t: self.inner.commit(reservation_id, timeout_s=t), timeout_s
        )

    def available(self) -> bool:
        return self.policy.available()

    def health(self) -> dict[str, object]:
        """Reachability and breaker state, for ``/health``: trouble here is "degraded"."""
        reachable = self.inner.ping()
        state = self.policy.breaker.state
        return {
            "status": "ok" if reachable and state == "closed" else "degraded",
            "reachable": reachable,
            "breaker": state,
        }
