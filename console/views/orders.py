"""Place orders, list them and follow one; cancel, ship and deliver as the API allows."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console import forms
from console import session as who
from console.api import ApiError
from console.views import api

blueprint = Blueprint("orders", __name__)

STATUSES = ("PENDING", "CONFIRMED", "PAID", "REJECTED", "CANCELLED", "SHIPPED", "DELIVERED")
# What each role may ask of an order in each status (the API decides; these are the buttons).
# "OWING" is a CONFIRMED order with something to pay: it is paid, not shipped.
ACTIONS: dict[str, dict[str, tuple[str, ...]]] = {
    "customer": {
        "PENDING": ("cancel",),
        "OWING": ("pay", "cancel"),
        "CONFIRMED": ("cancel",),
        "PAID": ("cancel",),
    },
    "admin": {
        "PENDING": ("cancel",),
        "OWING": ("pay", "cancel"),
        "CONFIRMED": ("ship", "cancel"),
        "PAID": ("ship", "cancel"),
        "SHIPPED": ("deliver",),
    },
}
SETTLED = {"X-Console-Settled": "true"}  # tells the page's script it may stop refreshing


def owes(order: dict[str, Any]) -> bool:
    return order["status"] == "CONFIRMED" and bool((order.get("total") or {}).get("amount_cents"))


def actions(order: dict[str, Any]) -> tuple[str, ...]:
    user = who.user() or {"role": "customer"}
    status = "OWING" if owes(order) else order["status"]
    return ACTIONS.get(user["role"], ACTIONS["customer"]).get(status, ())


def _settled(orders: list[dict[str, Any]], awaiting_payment: bool = False) -> dict[str, str]:
    """Nothing will change by itself: no order PENDING, and none just paid at the provider
    whose confirmation has yet to arrive."""
    if any(o["status"] == "PENDING" or (awaiting_payment and owes(o)) for o in orders):
        return {}
    return SETTLED


@blueprint.get("/")
def home() -> ResponseReturnValue:
    return redirect(url_for("orders.mine") if who.user() else url_for("auth.login"))


def _page() -> tuple[dict[str, Any], str | None]:
    status = request.args.get("status") or None
    status = status if status in STATUSES else None
    page = api().list_orders(who.token(), status=status, cursor=request.args.get("cursor"))
    return page, status


@blueprint.get("/orders")
@who.login_required
def mine() -> ResponseReturnValue:
    """Your orders, newest first (an admin sees everyone's); PENDING ones update by themselves."""
    page, status = _page()
    return render_template("orders.html", page=page, status=status, statuses=STATUSES,
                           actions=actions)  # fmt: skip


@blueprint.get("/orders/rows")
@who.login_required
def rows() -> ResponseReturnValue:
    page, _ = _page()
    body = render_template("_order_rows.html", page=page, actions=actions)
    return body, 200, _settled(page["items"])


@blueprint.route("/orders/new", methods=["GET", "POST"])
@who.login_required
def new() -> ResponseReturnValue:
    """The order form; each carries its own idempotency key: a double submit is one order."""
    if request.method == "GET":
        return _form(str(uuid.uuid4()))
    key = request.form.get("idempotency_key") or str(uuid.uuid4())
    items, rows = forms.order_lines(request.form)
    if not items:
        return _form(key, message="Add at least one line: a product and a quantity.", status=400)
    try:
        status, order = api().place(who.token(), items, key, forms.shipping_address(request.form))
    except ApiError as exc:
        return _refused(exc, key, rows)
    if status == 201:
        flash("Order confirmed: the stock is reserved for you.")
    else:
        flash("Inventory did not answer in time, so your order is PENDING. It will be confirmed "
              "or rejected automatically; this page follows it.")  # fmt: skip
    return redirect(url_for("orders.show", order_id=order["id"]))


def _refused(exc: ApiError, key: str, rows: list[int]) -> ResponseReturnValue:
    """Say what the API said. A refusal is definite, so the corrected form is a new request (new
    key); when the outcome is unknown (no answer, a server error) the same key is kept, so that
    sending the form again can only ever give the one order."""
    order_id = exc.details.get("order_id")
    rejected = {"INSUFFICIENT_STOCK", "UNKNOWN_SKU", "MIXED_CURRENCIES"}
    if exc.status == 422 and order_id and exc.code in rejected:
        flash(f"Order rejected: {exc.message}. Nothing was reserved.")
        return redirect(url_for("orders.show", order_id=order_id))
    if exc.code == "REQUEST_IN_PROGRESS":
        flash("This order is still being placed; it will appear in your orders in a moment.")
        return redirect(url_for("orders.mine"))
    definite = 400 <= exc.status < 500 and exc.status != 429
    errors = forms.line_errors(exc.fields, rows)
    status = exc.status if 400 <= exc.status < 600 else 503
    return _form(str(uuid.uuid4()) if definite else key, error=exc, errors=errors, status=status)


def _form(
    key: str,
    *,
    message: str | None = None,
    error: ApiError | None = None,
    errors: dict[str, list[str]] | None = None,
    status: int = 200,
) -> ResponseReturnValue:
    try:
        products = api().products()
    except ApiError:
        products = []  # the form still works: skus can be typed
    lines = list(zip(request.form.getlist("sku"), request.form.getlist("quantity"), strict=False))
    lines += [("", "")] * max(0, forms.ORDER_ROWS - len(lines))
    page = render_template("new_order.html", key=key, products=products, lines=lines,
                           address_fields=forms.ADDRESS_FIELDS, message=message, error=error,
                           errors=errors or {})  # fmt: skip
    return page, status


@blueprint.get("/orders/<uuid:order_id>")
@who.login_required
def show(order_id: uuid.UUID) -> ResponseReturnValue:
    """One order with its lines and history; a PENDING one updates by itself."""
    order = api().order(who.token(), str(order_id))
    # Back from the provider's pay page: the order turns PAID when its webhook is processed.
    awaiting = request.args.get("payment") == "succeeded"
    if awaiting and owes(order):
        flash("Payment received by the provider; the order turns PAID as soon as its "
              "confirmation arrives (this page follows it).")  # fmt: skip
    return render_template("order.html", order=order, actions=actions, awaiting=awaiting,
                           settled=bool(_settled([order], awaiting)))  # fmt: skip


@blueprint.get("/orders/<uuid:order_id>/panel")
@who.login_required
def panel(order_id: uuid.UUID) -> ResponseReturnValue:
    order = api().order(who.token(), str(order_id))
    body = render_template("_order_panel.html", order=order, actions=actions)
    return body, 200, _settled([order], request.args.get("awaiting") == "1")


@blueprint.post("/orders/<uuid:order_id>/pay")
@who.login_required
def pay(order_id: uuid.UUID) -> ResponseReturnValue:
    """Start (or resume) the order's payment and send the browser to the provider's pay page;
    the provider sends it back here."""
    back = url_for("orders.show", order_id=order_id, _external=True)
    try:
        payment = api().start_payment(who.token(), str(order_id), back)
    except ApiError as exc:
        if exc.status == 401:
            raise
        flash(f"Could not start the payment: {exc.message}.")
        return redirect(url_for("orders.show", order_id=order_id))
    return redirect(payment["redirect_url"], 303)


@blueprint.post("/orders/<uuid:order_id>/<any(cancel, ship, deliver):action>")
@who.login_required
def act(order_id: uuid.UUID, action: str) -> ResponseReturnValue:
    """Cancel (the owner or an admin), ship or deliver (an admin)."""
    back = who.local_target(request.form.get("next"), url_for("orders.show", order_id=order_id))
    try:
        order = api().act(who.token(), str(order_id), action)
    except ApiError as exc:
        if exc.status == 401:
            raise
        flash(f"Could not {action} the order: {exc.message}.")
        return redirect(back)
    flash(f"Order {order['id'][:8]} is now {order['status']}.")
    return redirect(back)
