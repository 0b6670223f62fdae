"""The design's invariants, checked from outside after a run once the reconciler has drained.

This is an auditor: it reads both databases (the services themselves never do). Each check
returns human-readable violations; an empty list means the invariant holds.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, text

from order_service.audit.drift import (
    STOCK_FIGURES,
    WHAT,
    OrderView,
    ReservationView,
    StockView,
    find_drift,
    stock_drift,
)


@dataclass
class Observed:
    """What clients saw: every response per idempotency key, and every status code."""

    by_key: dict[str, list[tuple[int, dict[str, Any]]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    statuses: list[int] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    # The error code of every 5xx, and the id of every order a definite answer or 202 named.
    server_errors: list[str] = field(default_factory=list)
    answered: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, key: str | None, status: int, body: dict[str, Any], latency_ms: float | None = None
    ) -> None:
        """Note one answer (many client threads record at once); status 0 is no answer."""
        with self._lock:
            self.statuses.append(status)
            if status >= 500:
                self.server_errors.append(str(body.get("error", {}).get("code")))
            if status in (201, 202, 422):
                self.answered.add(_order_id(body))
            if latency_ms is not None:
                self.latencies_ms.append(latency_ms)
            if key is not None:
                self.by_key[key].append((status, body))


def stock_adds_up(inventory: Engine) -> list[str]:
    """Invariant 1: stock figures, the ledger and the reservations agree for every sku."""
    with inventory.connect() as conn:
        rows = conn.execute(_STOCK_FIGURES).mappings().all()
    stock = [
        StockView(row["sku"], *(int(row[name] or 0) for name in STOCK_FIGURES[1:])) for row in rows
    ]
    return [f"{f.subject}: {f.detail}" for product in stock for f in stock_drift(product)]


# The figures ``drift.StockView`` needs, straight from inventory's tables (the audit reads the
# same through inventory's API): an independent look at what the service itself reports.
_STOCK_FIGURES = text(
    """
SELECT p.sku, p.on_hand, p.reserved,
       l.on_hand AS ledger_on_hand, l.reserved AS ledger_reserved, l.received AS ledger_received,
       h.held AS held_by_reservations, h.shipped AS shipped_by_reservations
FROM products p
LEFT JOIN (
    SELECT sku, SUM(on_hand_delta) AS on_hand, SUM(reserved_delta) AS reserved,
           SUM(on_hand_delta) FILTER (WHERE kind IN ('initial', 'restock')) AS received
    FROM stock_movements GROUP BY sku
) l USING (sku)
LEFT JOIN (
    SELECT l.sku, SUM(l.quantity) FILTER (WHERE r.status = 'RESERVED') AS held,
           SUM(l.quantity) FILTER (WHERE r.status = 'COMMITTED') AS shipped
    FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id GROUP BY l.sku
) h USING (sku)
"""
)


def states_agree(orders: Engine, inventory: Engine) -> list[str]:
    """Invariant 2: every order's state and lines match its reservation's, and no stock is held
    or deducted for an order that does not exist."""
    order_views = _views(orders, "SELECT id::text, status FROM orders", "order_lines", "order_id")
    reservations = _views(
        inventory, "SELECT id, status FROM reservations", "reservation_lines", "reservation_id"
    )
    known = {order.id for order in order_views}
    findings = find_drift(
        (OrderView(o.id, o.status, o.lines) for o in order_views),
        {r.id: r for r in reservations},
        (r for r in reservations if r.id not in known),
        [],
    )
    return [f"{f.subject}: {WHAT[f.invariant]} ({f.detail})" for f in findings]


def _views(engine: Engine, heads: str, lines: str, key: str) -> list[ReservationView]:
    """Each row of ``heads`` (id, status) with its lines, sorted as the audit compares them."""
    with engine.connect() as conn:
        found: dict[str, list[tuple[str, int]]] = defaultdict(list)
        for row in conn.execute(text(f"SELECT {key}::text AS id, sku, quantity FROM {lines}")):
            found[row.id].append((row.sku, row.quantity))
        return [
            ReservationView(row.id, row.status, tuple(sorted(found[row.id])))
            for row in conn.execute(text(heads))
        ]


def prices_agree(orders: Engine, inventory: Engine) -> list[str]:
    """Every order that was confirmed keeps the prices its reservation was made at, in its
    currency, and its total is what its lines come to. (An order cancelled while PENDING may
    have a priced reservation it never heard of: it was never confirmed, so it has no price.)"""
    with inventory.connect() as conn:
        reserved = {
            (r.id, r.sku): (r.unit_price_cents, r.currency)
            for r in conn.execute(
                text(
                    "SELECT reservation_id AS id, sku, unit_price_cents, currency "
                    "FROM reservation_lines WHERE unit_price_cents IS NOT NULL"
                )
            )
        }
    with orders.connect() as conn:
        lines = conn.execute(
            text(
                "SELECT o.id::text AS id, o.total_cents, o.currency, l.sku, l.quantity, "
                "l.unit_price_cents FROM orders o JOIN order_lines l ON l.order_id = o.id "
                "WHERE o.total_cents IS NOT NULL "
                "OR o.status IN ('CONFIRMED', 'PAID', 'SHIPPED', 'DELIVERED')"
            )
        ).all()
    found: list[str] = []
    totals: dict[tuple[str, int | None], int] = defaultdict(int)
    for row in lines:
        kept = reserved.get((row.id, row.sku))
        if kept is not None and (row.unit_price_cents, row.currency) != kept:
            found.append(
                f"{row.id} {row.sku}: {row.unit_price_cents} {row.currency}, reserved at {kept}"
            )
        totals[(row.id, row.total_cents)] += row.quantity * (row.unit_price_cents or 0)
    found += [
        f"{order_id}: total {total}, its lines come to {due}"
        for (order_id, total), due in totals.items()
        if total is not None and total != due
    ]
    return found


def nothing_left_undecided(orders: Engine) -> list[str]:
    """Invariant 3: no PENDING order and no undelivered outbox command."""
    with orders.connect() as conn:
        pending = conn.execute(
            text("SELECT count(*) FROM orders WHERE status = 'PENDING'")
        ).scalar()
        waiting = conn.execute(
            text("SELECT count(*) FROM outbox WHERE delivered_at IS NULL")
        ).scalar()
    problems = []
    if pending:
        problems.append(f"{pending} orders still PENDING")
    if waiting:
        problems.append(f"{waiting} outbox commands undelivered")
    return problems


def nothing_needs_attention(orders: Engine) -> list[str]:
    """No order was flagged because inventory refused one of its commands."""
    with orders.connect() as conn:
        rows = conn.execute(
            text("SELECT id, attention FROM orders WHERE attention IS NOT NULL ORDER BY id")
        ).all()
    return [f"order {r.id} needs attention: {r.attention}" for r in rows]


def one_order_per_key(orders: Engine, observed: Observed) -> list[str]:
    """Invariant 4: each key names one order, and every replay equals the first answer."""
    problems = []
    with orders.connect() as conn:
        rows = conn.execute(text("SELECT key, order_id FROM idempotency_keys")).all()
    stored: dict[str, Any] = {r.key: r.order_id for r in rows}
    for key, answers in observed.by_key.items():
        final = [(s, b) for s, b in answers if s in (201, 202, 422)]
        ids = {_order_id(b) for _, b in final}
        if len(ids) > 1:
            problems.append(f"key {key} answered with orders {sorted(ids)}")
        if final and any(a != final[0] for a in final[1:]):
            problems.append(f"key {key}: a replay differs from the first answer")
        if final and key in stored and str(stored[key]) not in ids:
            problems.append(f"key {key} is stored for another order")
    return problems


def no_server_errors(observed: Observed, allowed: Collection[str] = ()) -> list[str]:
    """Invariant 5: the order service never answered 5xx because inventory misbehaved.

    ``allowed``: error codes a scenario's own fault explains (the load balancer's BAD_GATEWAY
    for a request an instance died holding, DATABASE_UNAVAILABLE while PostgreSQL restarts).
    """
    bad = Counter(code for code in observed.server_errors if code not in allowed)
    return [f"order service answered 5xx {dict(bad)}"] if bad else []


def every_order_answered(orders: Engine, observed: Observed) -> list[str]:
    """For clients without an Idempotency-Key: every stored order was answered as such.

    An order stored whose request was answered with an error (a 503, say) is one such a client
    places a second time when it retries.
    """
    with orders.connect() as conn:
        stored = {str(i) for i in conn.execute(text("SELECT id FROM orders")).scalars()}
    unanswered = sorted(stored - observed.answered)
    return [f"order {i} is stored but its client was told otherwise" for i in unanswered]


def concurrent_deliveries(log_lines: Iterable[str]) -> list[str]:
    """Two reconcilers sending the same command at the same time, from inventory's access logs.

    Each line gives the route, the caller (User-Agent names the reconciler) and when the request
    ended and how long it took; two requests for the same command from different reconcilers
    whose times overlap are a violation.
    """
    spans: dict[tuple[str, str], list[tuple[float, float, str]]] = defaultdict(list)
    for raw in log_lines:
        if '"logger": "access"' not in raw or '"agent": "reconciler/' not in raw:
            continue
        line = json.loads(raw)
        if "/reservations" in line["path"]:
            end = datetime.fromisoformat(line["ts"]).timestamp()
            start = end - line["duration_ms"] / 1000
            spans[(line["method"], line["path"])].append((start, end, line["agent"]))
    problems = []
    for (method, path), found in spans.items():
        busy_until: dict[str, float] = {}  # per reconciler, the end of its latest request
        for start, end, agent in sorted(found):
            others = [a for a, until in busy_until.items() if a != agent and until > start]
            if others:
                problems.append(f"{method} {path} sent by {agent} and {others[0]} at once")
            busy_until[agent] = max(end, busy_until.get(agent, 0.0))
    return problems


def _order_id(body: Mapping[str, Any]) -> str:
    if "id" in body:
        return str(body["id"])
    return str(body.get("error", {}).get("details", {}).get("order_id"))


def check_all(
    orders: Engine,
    inventory: Engine,
    observed: Observed | None = None,
    *,
    allowed_5xx: Collection[str] = (),
) -> dict[str, list[str]]:
    """Every invariant by name, with its violations."""
    observed = observed or Observed()
    return {
        "stock adds up": stock_adds_up(inventory),
        "order and reservation states agree": states_agree(orders, inventory),
        "prices kept and totals add up": prices_agree(orders, inventory),
        "no PENDING order or undelivered command": nothing_left_undecided(orders),
        "no order flagged for attention": nothing_needs_attention(orders),
        "one order per key, identical replays": one_order_per_key(orders, observed),
        "no 5xx from the order service": no_server_errors(observed, allowed_5xx),
    }


def drain(orders: Engine, *, timeout_s: float = 120.0, poll_s: float = 0.2) -> float:
    """Wait until the reconciler has settled everything; returns how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not nothing_left_undecided(orders):
            return time.monotonic() - started
        time.sleep(poll_s)  # polling interval of the check, not a guess at how long to wait
    raise TimeoutError(f"not drained after {timeout_s}s: {nothing_left_undecided(orders)}")


def violations(results: Mapping[str, Sequence[str]]) -> list[str]:
    return [f"{name}: {v}" for name, found in results.items() for v in found]
