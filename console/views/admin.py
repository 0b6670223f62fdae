"""For admins: live stock, the gremlins, and the status strip on every admin page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from chaos.model import summary
from console import forms
from console import session as who
from console.api import ApiError
from console.views import api, strip

blueprint = Blueprint("admin", __name__, url_prefix="/admin")


@blueprint.get("/status")
@who.admin_required
def status() -> ResponseReturnValue:
    """The strip: latency light, breaker, PENDING orders, oldest undelivered command."""
    return render_template("_strip.html", strip=strip().read())


@blueprint.get("/stock")
@who.admin_required
def stock() -> ResponseReturnValue:
    """Every product: on hand, reserved, available; refreshes by itself."""
    return render_template("stock.html", products=api().products())


@blueprint.get("/stock/rows")
@who.admin_required
def stock_rows() -> ResponseReturnValue:
    return render_template("_stock_rows.html", products=api().products())


def _gremlins_page(
    error: ApiError | None = None, values: dict[str, str] | None = None, status: int = 200
) -> ResponseReturnValue:
    page = render_template("gremlins.html", chaos=api().gremlins(), fields=forms.GREMLIN_FIELDS,
                           summary=summary, error=error, values=values or {})  # fmt: skip
    return page, status


@blueprint.get("/gremlins")
@who.admin_required
def gremlins() -> ResponseReturnValue:
    """The active gremlins with how often each fired, and a form to add one."""
    return _gremlins_page()


@blueprint.get("/gremlins/rows")
@who.admin_required
def gremlin_rows() -> ResponseReturnValue:
    return render_template("_gremlin_rows.html", chaos=api().gremlins(), summary=summary)


@blueprint.post("/gremlins")
@who.admin_required
def add_gremlin() -> ResponseReturnValue:
    """Add (or replace) a gremlin with the fields the command line has."""
    name, body = forms.gremlin_body(request.form)
    try:
        api().put_gremlin(who.token(), name, body)
    except ApiError as exc:
        if exc.status == 401:
            raise
        status = exc.status if 400 <= exc.status < 600 else 503
        return _gremlins_page(exc, dict(request.form.items()), status)
    flash(f"Gremlin {name} is on; every inventory worker applies it within a second.")
    return redirect(url_for("admin.gremlins"))


@blueprint.post("/gremlins/<name>/remove")
@who.admin_required
def remove_gremlin(name: str) -> ResponseReturnValue:
    """Remove one gremlin."""
    api().remove_gremlin(who.token(), name)
    flash(f"Gremlin {name} is off.")
    return redirect(url_for("admin.gremlins"))


@blueprint.post("/gremlins/reset")
@who.admin_required
def reset_gremlins() -> ResponseReturnValue:
    """Remove every gremlin."""
    api().reset_gremlins(who.token())
    flash("Every gremlin is off.")
    return redirect(url_for("admin.gremlins"))


@blueprint.get("/payments/dead-letters")
@who.admin_required
def dead_letters() -> ResponseReturnValue:
    """Payment events that failed every try, with the last error; replay or discard each."""
    return render_template("dead_letters.html", events=api().dead_letters(who.token()))


@blueprint.post("/payments/dead-letters/<event_id>/<any(replay, discard):action>")
@who.admin_required
def resolve_dead_letter(event_id: str, action: str) -> ResponseReturnValue:
    try:
        api().resolve_dead_letter(who.token(), event_id, action)
    except ApiError as exc:
        if exc.status == 401:
            raise
        flash(f"Could not {action} event {event_id}: {exc.message}.")
        return redirect(url_for("admin.dead_letters"))
    done = "back in the inbox" if action == "replay" else "discarded (kept on record)"
    flash(f"Event {event_id} is {done}.")
    return redirect(url_for("admin.dead_letters"))
