"""Who is using the console: the API token in Flask's signed session cookie, never on a page."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

View = TypeVar("View", bound=Callable[..., Any])
EXPIRED = "Your session has ended; please log in again."


def sign_in(login: dict[str, Any], email: str) -> None:
    """Keep the token for as long as it is valid (a fresh session: no fixation)."""
    session.clear()
    session.permanent = True
    session["token"] = login["access_token"]
    session["role"] = login.get("role", "customer")
    session["email"] = email
    session["expires_at"] = time.time() + float(login.get("expires_in", 900))


def sign_out() -> None:
    session.clear()


def user() -> dict[str, str] | None:
    """The signed-in person (email and role), or None; an expired token counts as signed out."""
    if "token" not in session:
        return None
    if time.time() >= session.get("expires_at", 0):
        sign_out()
        flash(EXPIRED)
        return None
    return {"email": session["email"], "role": session["role"]}


def token() -> str:
    return str(session["token"])


def is_admin() -> bool:
    found = user()
    return found is not None and found["role"] == "admin"


def to_login() -> Response:
    """To the login page, and back here after it; a page's script gets a bare 401 instead (it
    reloads the page, which then comes here)."""
    if request.headers.get("X-Requested-With") == "fetch":
        return Response("", 401)
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=target) if target else url_for("auth.login"))


def login_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if user() is None:
            return to_login()
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def admin_required(view: View) -> View:
    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        found = user()
        if found is None:
            return to_login()
        if found["role"] != "admin":
            flash("That page is for admins.")
            return redirect(url_for("orders.mine"))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


# A path on this console: "/" then printable ASCII only, never "//" or "/\\" (another host to a
# browser). Browsers drop tabs and newlines from a URL before following it, so "/\t/evil.example"
# would be "//evil.example"; and a newline in a Location header is refused by the server (a 500).
LOCAL_PATH = re.compile(r"/(?![/\\])[!-~]*")


def local_target(raw: str | None, default: str) -> str:
    """Only a path on this console: a crafted ``next`` must not send anyone elsewhere."""
    if raw and LOCAL_PATH.fullmatch(raw) and "\\" not in raw:
        return raw
    return default
