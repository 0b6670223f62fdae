"""Sign up, log in, log out."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from console import session as who
from console.api import ApiError
from console.views import api

blueprint = Blueprint("auth", __name__)


def _refused(template: str, exc: ApiError, email: str) -> ResponseReturnValue:
    status = exc.status if 400 <= exc.status < 500 else 503
    return render_template(template, error=exc, email=email), status


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> ResponseReturnValue:
    """Log in with an order-service account; its token stays in the session cookie."""
    if request.method == "GET":
        return render_template("login.html", email="")
    email = request.form.get("email", "").strip()
    try:
        answer = api().login(email, request.form.get("password", ""))
    except ApiError as exc:
        return _refused("login.html", exc, email)
    who.sign_in(answer, email)
    return redirect(who.local_target(request.args.get("next"), url_for("orders.mine")))


@blueprint.route("/signup", methods=["GET", "POST"])
def signup() -> ResponseReturnValue:
    """Create a customer account and log in with it."""
    if request.method == "GET":
        return render_template("signup.html", email="")
    email = request.form.get("email", "").strip()
    password = request.form.get("password", "")
    try:
        api().signup(email, password)
        answer = api().login(email, password)
    except ApiError as exc:
        return _refused("signup.html", exc, email)
    who.sign_in(answer, email)
    flash("Welcome! Your account is ready: place your first order.")
    return redirect(url_for("orders.new"))


@blueprint.post("/logout")
def logout() -> ResponseReturnValue:
    """Forget the token."""
    who.sign_out()
    flash("You are logged out.")
    return redirect(url_for("auth.login"))
