"""gunicorn settings of the orders service (shared ones in shared.gunicorn)."""

from shared.gunicorn import child_exit, on_starting, settings_for

globals().update(settings_for("orders"))

__all__ = ["child_exit", "on_starting"]  # gunicorn looks these hooks up by name
