"""The console's pages, one blueprint per area: thin views that call the API and render."""

from __future__ import annotations

from flask import current_app

from console.api import Api
from console.status import StatusStrip


def api() -> Api:
    return current_app.extensions["console_api"]  # type: ignore[no-any-return]


def strip() -> StatusStrip:
    return current_app.extensions["console_strip"]  # type: ignore[no-any-return]
