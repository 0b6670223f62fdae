"""gunicorn settings of the console (shared ones in shared.gunicorn)."""

from shared.gunicorn import settings_for

globals().update(settings_for("console"))
