"""gunicorn settings of the order service, taken from shared.config like everything else."""

from shared.config import load_settings

_settings = load_settings()

bind = _settings.order_bind
workers = _settings.web_workers
# Threads let one worker wait on the database or on inventory without stalling the others.
worker_class = "gthread"
threads = _settings.web_threads
# Longer than the slowest request we allow (the reserve deadline), so no healthy request is cut.
timeout = 30
graceful_timeout = 10
keepalive = 5
accesslog = None  # the app writes one JSON line per request itself
errorlog = "-"
