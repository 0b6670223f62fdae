"""gunicorn settings of the inventory service (shared ones in shared.gunicorn)."""

from shared.gunicorn import child_exit, on_starting, settings_for

globals().update(settings_for("inventory"))

__all__ = ["child_exit", "on_starting"]  # gunicorn looks these hooks up by name
