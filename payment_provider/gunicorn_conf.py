"""gunicorn settings of the payment provider stand-in (shared ones in shared.gunicorn)."""

from typing import Any

from shared.gunicorn import settings_for

globals().update(settings_for("payments"))


def post_worker_init(worker: Any) -> None:
    # Each worker sends due webhooks; they share the work through the database's row locks.
    worker.wsgi.extensions["sender"].start()
