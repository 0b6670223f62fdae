"""An in-memory inventory behind the port, with the same rules as the real service."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from order_service.domain import OrderLine
from order_service.inventory import (
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    ReservationState,
)
from shared.resilience.failures import Reason


@dataclass
class FakeInventory:
    stock: dict[str, int] = field(default_factory=dict)  # sku -> available
    prices: dict[str, tuple[int, str]] = field(default_factory=dict)  # sku -> (cents, currency)
    # What each reservation was made at, answered again on a repeat.
    reserved_at: dict[str, dict[str, tuple[int, str]]] = field(default_factory=dict)
    reservations: dict[str, tuple[ReservationState, tuple[OrderLine, ...]]] = field(
        default_factory=dict
    )
    calls: list[tuple[str, str]] = field(default_factory=list)
    # When set, every call fails like an unreachable inventory, after doing (or not) the work.
    down: Reason | None = None
    apply_then_fail: bool = False

    def _fail_or_apply(self, op: str, rid: str, work: object) -> InventoryReply:
        self.calls.append((op, rid))
        if self.down is not None and not self.apply_then_fail:
            raise InventoryUnavailable(self.down)
        reply = work()  # type: ignore[operator]
        if self.down is not None:
            raise InventoryUnavailable(self.down, "answer lost after the work was done")
        return reply  # type: ignore[no-any-return]

    def reserve(
        self, reservation_id: str, lines: Sequence[OrderLine], *, timeout_s: float | None = None
    ) -> InventoryReply:
        def work() -> InventoryReply:
            wanted = tuple(sorted(lines, key=lambda ln: ln.sku))
            if reservation_id in self.reservations:
                state, stored = self.reservations[reservation_id]
                if stored and stored != wanted:
                    raise InventoryRefused(422, "RESERVATION_MISMATCH", "different lines")
                return InventoryReply(state, prices=self.reserved_at.get(reservation_id, {}))
            shortages = [
                {
                    "sku": ln.sku,
                    "requested": ln.quantity,
                    "available": self.stock.get(ln.sku, 0),
                    "reason": "insufficient_stock" if ln.sku in self.stock else "unknown_sku",
                }
                for ln in wanted
                if self.stock.get(ln.sku, 0) < ln.quantity
            ]
            if shortages:
                self.reservations[reservation_id] = (ReservationState.REJECTED, wanted)
                return InventoryReply(ReservationState.REJECTED, shortages)
            for ln in wanted:
                self.stock[ln.sku] -= ln.quantity
            self.reservations[reservation_id] = (ReservationState.RESERVED, wanted)
            prices = {ln.sku: self.prices[ln.sku] for ln in wanted if ln.sku in self.prices}
            self.reserved_at[reservation_id] = prices
            return InventoryReply(ReservationState.RESERVED, prices=prices)

        return self._fail_or_apply("reserve", reservation_id, work)

    def available(self) -> bool:
        return self.down is not Reason.BREAKER_OPEN

    def release(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        def work() -> InventoryReply:
            state, lines = self.reservations.get(reservation_id, (None, ()))
            if state is None:
                self.reservations[reservation_id] = (ReservationState.RELEASED, ())
            elif state is ReservationState.COMMITTED:
                raise InventoryRefused(409, "INVALID_TRANSITION", "already committed")
            elif state is ReservationState.RESERVED:
                for ln in lines:
                    self.stock[ln.sku] += ln.quantity
                self.reservations[reservation_id] = (ReservationState.RELEASED, lines)
            return InventoryReply(self.reservations[reservation_id][0])

        return self._fail_or_apply("release", reservation_id, work)

    def commit(self, reservation_id: str, *, timeout_s: float | None = None) -> InventoryReply:
        def work() -> InventoryReply:
            state, lines = self.reservations.get(reservation_id, (None, ()))
            if state is None:
                raise InventoryRefused(404, "NOT_FOUND", "no reservation")
            if state in (ReservationState.RELEASED, ReservationState.REJECTED):
                raise InventoryRefused(409, "INVALID_TRANSITION", "not reserved")
            self.reservations[reservation_id] = (ReservationState.COMMITTED, lines)
            return InventoryReply(ReservationState.COMMITTED)

        return self._fail_or_apply("commit", reservation_id, work)
