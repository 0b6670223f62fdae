"""The money invariants, checked from outside after a run once everything has drained: the
order database against the payment provider's own (an auditor reads both; the order service
never reads the provider's). Each check returns human-readable violations."""

from __future__ import annotations

import time
from collections import defaultdict

from sqlalchemy import Engine, text

PAID = ("PAID", "SHIPPED", "DELIVERED")
CLOSED = ("CANCELLED", "REJECTED")


def _orders(orders: Engine) -> dict[str, tuple[str, int | None, str | None]]:
    with orders.connect() as conn:
        rows = conn.execute(
            text("SELECT id::text AS id, status, total_cents, currency FROM orders")
        )
        return {r.id: (r.status, r.total_cents, r.currency) for r in rows}


def _intents(provider: Engine) -> dict[str, list[tuple[str, int, str]]]:
    """Per order (the intent's reference): (status, amount, currency) of each of its intents."""
    found: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
    with provider.connect() as conn:
        for r in conn.execute(
            text("SELECT reference, status, amount_cents, currency FROM payment_intents")
        ):
            found[r.reference].append((r.status, r.amount_cents, r.currency))
    return found


def paid_orders_captured_once(orders: Engine, provider: Engine) -> list[str]:
    """Every PAID, SHIPPED or DELIVERED order with a total has exactly one payment the provider
    captured (and did not refund), of exactly its total, and this service says so too; no
    order with something to pay shipped unpaid."""
    intents, found = _intents(provider), []
    with orders.connect() as conn:
        ours = {
            str(r.order_id): r.status
            for r in conn.execute(text("SELECT order_id, status FROM payments"))
        }
    for order_id, (status, total, currency) in _orders(orders).items():
        if status not in PAID or not total:
            continue
        captured = [i for i in intents.get(order_id, []) if i[0] == "succeeded"]
        if len(captured) != 1:
            found.append(f"order {order_id} is {status} with {len(captured)} captured payments")
        elif captured[0][1:] != (total, currency):
            found.append(f"order {order_id}: total {total} {currency}, captured {captured[0][1:]}")
        if ours.get(order_id) != "captured":
            found.append(f"order {order_id} is {status}; its payment here is {ours.get(order_id)}")
    return found


def closed_orders_refunded(orders: Engine, provider: Engine) -> list[str]:
    """Every payment captured for an order that was cancelled or expired is refunded."""
    state = _orders(orders)
    return [
        f"order {order_id} is {state[order_id][0]} but its payment is kept"
        for order_id, found in _intents(provider).items()
        if order_id in state
        and state[order_id][0] in CLOSED
        and any(status == "succeeded" for status, _, _ in found)
    ]


def money_adds_up(orders: Engine, provider: Engine) -> list[str]:
    """Per currency: what the provider captured less what it refunded is what the orders that
    are paid and not cancelled come to."""
    kept: dict[str, int] = defaultdict(int)
    for found in _intents(provider).values():
        for status, amount, currency in found:
            if status == "succeeded":  # captured and not refunded
                kept[currency] += amount
    due: dict[str, int] = defaultdict(int)
    for status, total, paid_in in _orders(orders).values():
        if status in PAID and total and paid_in:
            due[paid_in] += total
    return [
        f"{currency}: kept {kept.get(currency, 0)}, paid orders come to {due.get(currency, 0)}"
        for currency in sorted(set(kept) | set(due))
        if kept.get(currency, 0) != due.get(currency, 0)
    ]


def inbox_drained(orders: Engine) -> list[str]:
    """Nothing left in the webhook inbox; every dead event is in the queue with its error."""
    with orders.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM payment_events WHERE processed_at IS NULL AND dead_at IS NULL"
            )
        ).scalar_one()
        silent = conn.execute(
            text(
                "SELECT count(*) FROM payment_events "
                "WHERE dead_at IS NOT NULL AND last_error IS NULL"
            )
        ).scalar_one()
    found = [f"{waiting} webhook events not processed"] if waiting else []
    return found + ([f"{silent} dead events without their error"] if silent else [])


def _sending(provider: Engine) -> int:
    """Copies the provider still means to send (neither delivered nor given up on)."""
    with provider.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM deliveries "
                    "WHERE delivered_at IS NULL AND given_up_at IS NULL"
                )
            ).scalar_one()
        )


def provider_settled(provider: Engine) -> list[str]:
    """The provider has sent every webhook it means to (delivered, or given up on)."""
    waiting = _sending(provider)
    with provider.connect() as conn:
        given_up = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE given_up_at IS NOT NULL AND NOT forged")
        ).scalar_one()
    found = [f"{waiting} webhooks still to send"] if waiting else []
    return found + ([f"{given_up} real webhooks never delivered"] if given_up else [])


def forged_refused(provider: Engine) -> list[str]:
    """Every forged copy the provider sent was refused (401) by the order service."""
    with provider.connect() as conn:
        taken = conn.execute(
            text("SELECT count(*) FROM deliveries WHERE forged AND last_status <> 401")
        ).scalar_one()
    return [f"{taken} forged webhooks were not refused"] if taken else []


def webhook_stats(provider: Engine) -> dict[str, int]:
    """What the provider sent: events, copies, forged copies and how many were refused."""
    with provider.connect() as conn:
        row = conn.execute(
            text(
                "SELECT (SELECT count(*) FROM events) AS events, count(*) AS copies, "
                "count(*) FILTER (WHERE forged) AS forged, "
                "count(*) FILTER (WHERE forged AND last_status = 401) AS forged_refused, "
                "coalesce(sum(attempts), 0) AS attempts FROM deliveries"
            )
        ).one()
    return dict(row._mapping)


def check_payments(orders: Engine, provider: Engine) -> dict[str, list[str]]:
    return {
        "paid orders captured once, none shipped unpaid": paid_orders_captured_once(
            orders, provider
        ),
        "captured payments of closed orders refunded": closed_orders_refunded(orders, provider),
        "money adds up per currency": money_adds_up(orders, provider),
        "inbox drained, dead events visible": inbox_drained(orders),
        "every real webhook delivered": provider_settled(provider),
        "every forged webhook refused": forged_refused(provider),
    }


def drain_payments(orders: Engine, provider: Engine, *, timeout_s: float = 120.0) -> float:
    """Until the provider has sent everything and the inbox is empty; how long that took."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if not _sending(provider) and not inbox_drained(orders):
            return time.monotonic() - started
        time.sleep(0.2)  # polling interval of the check, not a guess at how long to wait
    raise TimeoutError(f"payments not drained after {timeout_s}s")
