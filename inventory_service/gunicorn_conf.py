"""gunicorn settings of the inventory service (shared ones in shared.gunicorn)."""

from shared.gunicorn import fresh_metrics_directory, settings_for

fresh_metrics_directory()
globals().update(settings_for("inventory"))
