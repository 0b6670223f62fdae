"""The cross-service invariants, in plain Python: what disagrees, and how to mend it.

This is the one statement of them: the audit (``make audit``, through both public APIs), the
chaos runner and the tests (``lab/invariants.py``, reading both databases) all judge with it.
Each service keeps its own truth, so a restore of one database (or a bug) can leave them out of
step. What must hold (README, "When inventory misbehaves"):

1. per sku, stock agrees with its ledger, ``reserved`` with what RESERVED reservations hold, and
   ``on_hand`` with what was received less what COMMITTED reservations shipped;
2. an order and its reservation agree: CONFIRMED/PAID <=> RESERVED, SHIPPED/DELIVERED <=> COMMITTED,
   CANCELLED/REJECTED <=> RELEASED/REJECTED or none, with the same lines; no stock is held or
   deducted for an order that does not exist.

Every repair is an inventory command the order service already sends, and every one is
idempotent by reservation id, so running a repair twice changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from enum import StrEnum


class Invariant(StrEnum):
    CONFIRMED_WITHOUT_RESERVATION = "confirmed_without_reservation"
    SHIPPED_NOT_COMMITTED = "shipped_not_committed"
    RESERVED_FOR_CLOSED_ORDER = "reserved_for_closed_order"
    RESERVATION_WITHOUT_ORDER = "reservation_without_order"
    COMMITTED_NOT_SHIPPED = "committed_not_shipped"
    LINES_DIFFER = "lines_differ"
    STOCK_OFF_LEDGER = "stock_off_ledger"
    RESERVED_NOT_HELD = "reserved_not_held"
    ON_HAND_NOT_SHIPMENTS = "on_hand_not_shipments"
    PAID_NOT_CAPTURED = "paid_not_captured"
    CAPTURED_FOR_CLOSED_ORDER = "captured_for_closed_order"


class Repair(StrEnum):
    """The commands that mend a finding; NONE: no command can, a person must look."""

    RESERVE = "reserve"
    RESERVE_AND_COMMIT = "reserve_and_commit"
    COMMIT = "commit"
    RELEASE = "release"
    REFUND = "refund"
    NONE = "none"


WHAT = {
    Invariant.CONFIRMED_WITHOUT_RESERVATION: (
        "order CONFIRMED or PAID, but inventory holds no stock for it"
    ),
    Invariant.SHIPPED_NOT_COMMITTED: "order SHIPPED or DELIVERED, but its stock was not deducted",
    Invariant.RESERVED_FOR_CLOSED_ORDER: "order CANCELLED or REJECTED, but its stock is reserved",
    Invariant.RESERVATION_WITHOUT_ORDER: "stock reserved for an order that does not exist",
    Invariant.COMMITTED_NOT_SHIPPED: "stock deducted for an order that did not ship",
    Invariant.LINES_DIFFER: "the reservation's lines are not the order's",
    Invariant.STOCK_OFF_LEDGER: "on hand or reserved differs from the ledger's sum",
    Invariant.RESERVED_NOT_HELD: "reserved differs from what RESERVED reservations hold",
    Invariant.ON_HAND_NOT_SHIPMENTS: "on hand differs from what was received less what shipped",
    Invariant.PAID_NOT_CAPTURED: (
        "order PAID, SHIPPED or DELIVERED, but the provider holds no payment of its total"
    ),
    Invariant.CAPTURED_FOR_CLOSED_ORDER: (
        "order CANCELLED or REJECTED, but the provider kept its payment"
    ),
}


@dataclass(frozen=True)
class OrderView:
    id: str
    status: str
    lines: tuple[tuple[str, int], ...]
    attention: bool = False
    total: int | None = None  # minor units of ``currency``; None before prices existed
    currency: str | None = None


@dataclass(frozen=True)
class IntentView:
    """A payment at the provider, as its API shows it (``reference`` is the order id)."""

    id: str
    reference: str
    status: str  # requires_payment, succeeded (captured, kept) or refunded
    amount_cents: int
    currency: str


@dataclass(frozen=True)
class ReservationView:
    id: str
    status: str
    lines: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class StockView:
    sku: str
    on_hand: int
    reserved: int
    ledger_on_hand: int
    ledger_reserved: int
    ledger_received: int  # the ledger's initial stock and restocks
    held_by_reservations: int  # the lines of RESERVED reservations
    shipped_by_reservations: int  # the lines of COMMITTED reservations


STOCK_FIGURES = tuple(f.name for f in fields(StockView))


@dataclass(frozen=True)
class Finding:
    invariant: Invariant
    subject: str  # an order id, or a sku
    detail: str
    repair: Repair
    order: OrderView | None = None
    payment: str | None = None  # the provider's payment a refund gives back


HOLDING = {"CONFIRMED", "PAID"}  # the stock is reserved for it, not shipped yet
SHIPPED = {"SHIPPED", "DELIVERED"}
CLOSED = {"CANCELLED", "REJECTED"}


def order_drift(order: OrderView, reservation: ReservationView | None) -> list[Finding]:
    """What is wrong between one settled order and its reservation (None: there is none)."""
    state = reservation.status if reservation else None

    def found(invariant: Invariant, repair: Repair) -> list[Finding]:
        detail = f"order {order.status}, reservation {state or 'missing'}"
        return [Finding(invariant, order.id, detail, repair, order)]

    findings: list[Finding] = []
    if order.status in HOLDING and state != "RESERVED":
        if state == "COMMITTED":
            findings += found(Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE)
        else:
            # A missing reservation can be made again; a RELEASED or REJECTED one holds the id.
            repair = Repair.RESERVE if state is None else Repair.NONE
            findings += found(Invariant.CONFIRMED_WITHOUT_RESERVATION, repair)
    elif order.status in SHIPPED and state != "COMMITTED":
        repair = {None: Repair.RESERVE_AND_COMMIT, "RESERVED": Repair.COMMIT}.get(
            state, Repair.NONE
        )
        findings += found(Invariant.SHIPPED_NOT_COMMITTED, repair)
    elif order.status in CLOSED and state in ("RESERVED", "COMMITTED"):
        if state == "RESERVED":
            findings += found(Invariant.RESERVED_FOR_CLOSED_ORDER, Repair.RELEASE)
        else:
            findings += found(Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE)
    if reservation and reservation.lines and sorted(reservation.lines) != sorted(order.lines):
        findings += found(Invariant.LINES_DIFFER, Repair.NONE)
    return findings


def orphan_drift(reservation: ReservationView) -> list[Finding]:
    """A reservation whose order does not exist: stock held or deducted for nobody."""
    if reservation.status == "RESERVED":
        invariant, repair = Invariant.RESERVATION_WITHOUT_ORDER, Repair.RELEASE
    elif reservation.status == "COMMITTED":
        invariant, repair = Invariant.COMMITTED_NOT_SHIPPED, Repair.NONE
    else:
        return []
    detail = f"no order, reservation {reservation.status}"
    return [Finding(invariant, reservation.id, detail, repair)]


def stock_drift(stock: StockView) -> list[Finding]:
    """One product against its ledger and its reservations; nothing a command can mend."""
    findings = []
    if (stock.on_hand, stock.reserved) != (stock.ledger_on_hand, stock.ledger_reserved):
        detail = (
            f"on hand {stock.on_hand} (ledger {stock.ledger_on_hand}), "
            f"reserved {stock.reserved} (ledger {stock.ledger_reserved})"
        )
        findings.append(Finding(Invariant.STOCK_OFF_LEDGER, stock.sku, detail, Repair.NONE))
    if stock.reserved != stock.held_by_reservations:
        detail = f"reserved {stock.reserved}, reservations hold {stock.held_by_reservations}"
        findings.append(Finding(Invariant.RESERVED_NOT_HELD, stock.sku, detail, Repair.NONE))
    if stock.on_hand != stock.ledger_received - stock.shipped_by_reservations:
        detail = (
            f"on hand {stock.on_hand}, received {stock.ledger_received} less shipped "
            f"{stock.shipped_by_reservations}"
        )
        findings.append(Finding(Invariant.ON_HAND_NOT_SHIPMENTS, stock.sku, detail, Repair.NONE))
    return findings


PAID = {"PAID", *SHIPPED}


def payment_drift(order: OrderView, intents: Iterable[IntentView]) -> list[Finding]:
    """What is wrong between one settled order and the provider's payments for it: a paid order
    must have exactly one payment kept of its total; a closed one must keep none."""
    kept = [i for i in intents if i.status == "succeeded"]
    if order.status in PAID and order.total:
        due = (order.total, order.currency)
        if [(i.amount_cents, i.currency) for i in kept] != [due]:
            detail = f"order {order.status} for {due}, provider keeps {len(kept)} payment(s)"
            return [Finding(Invariant.PAID_NOT_CAPTURED, order.id, detail, Repair.NONE, order)]
    if order.status in CLOSED:
        return [
            Finding(
                Invariant.CAPTURED_FOR_CLOSED_ORDER,
                order.id,
                f"order {order.status}, payment {i.id} of {i.amount_cents} {i.currency} kept",
                Repair.REFUND,
                order,
                i.id,
            )
            for i in kept
        ]
    return []


def find_drift(
    orders: Iterable[OrderView],
    reservations: Mapping[str, ReservationView | None],
    orphans: Iterable[ReservationView],
    stock: Iterable[StockView],
    intents: Mapping[str, list[IntentView]] | None = None,
) -> list[Finding]:
    """Every finding: ``reservations`` holds each order's reservation (None when inventory has
    none); ``orphans`` are reservations whose order is unknown to the order service;
    ``intents`` the provider's payments by order (None: payments are not audited)."""
    findings: list[Finding] = []
    for order in orders:
        findings += order_drift(order, reservations.get(order.id))
        if intents is not None:
            findings += payment_drift(order, intents.get(order.id, []))
    for reservation in orphans:
        findings += orphan_drift(reservation)
    for product in stock:
        findings += stock_drift(product)
    return findings
