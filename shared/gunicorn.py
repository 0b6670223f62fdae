"""gunicorn settings and hooks both services share; each ``gunicorn_conf.py`` names its service."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shared import front_agent
from shared.config import load_settings
from shared.gunicorn_worker import BoundedReadWorker
from shared.metrics import mark_worker_dead

_settings = load_settings()
BoundedReadWorker.read_timeout_s = _settings.request_read_timeout_s


def settings_for(service: str) -> dict[str, Any]:
    """Module-level gunicorn settings for ``service`` ("orders", "inventory" or "console")."""
    layout = _settings.layout(service)
    binds = {
        "orders": _settings.order_bind,
        "inventory": _settings.inventory_bind,
        "console": _settings.console_bind,
        "payments": _settings.payments_provider_bind,
    }
    return {
        "bind": binds[service],
        "workers": layout.workers,
        # Threads let one worker wait on the database or on inventory without stalling others;
        # gthread with a deadline on reading each request, so slow clients cannot hold them.
        "worker_class": "shared.gunicorn_worker.BoundedReadWorker",
        "threads": layout.threads,
        # Whatever the app holds per process is renewed in each worker (shared.forks).
        "preload_app": _settings.web_preload,
        # Longer than the slowest request we allow (the reserve deadline): no healthy request
        # is cut, and a stuck worker is still replaced.
        "timeout": 30,
        "graceful_timeout": 10,
        "keepalive": 5,
        "accesslog": None,  # the app writes one JSON line per request itself
        "errorlog": "-",
        "child_exit": child_exit,
        **_agent_hooks(service),
    }


def _agent_hooks(service: str) -> dict[str, Any]:
    """With ``FRONT_AGENT_BIND``, the hooks that run the front's agent (``shared.front_agent``):
    its memory made here, in the master, before any worker is forked."""
    layout = _settings.layout(service)
    if not _settings.front_agent_bind or layout.at_once is None:
        return {}
    # Twice the workers: a replacement may start before the worker it replaces has gone.
    waits = front_agent.Waits(2 * layout.workers, layout.threads)
    front_agent.install(waits)
    agent = front_agent.Agent(waits, layout.at_once, layout.workers * layout.threads)

    def when_ready(server: Any) -> None:
        agent.start(_settings.front_agent_bind)

    def pre_fork(server: Any, worker: Any) -> None:
        worker.agent_row = waits.claim()

    def post_fork(server: Any, worker: Any) -> None:
        waits.use_row(worker.agent_row)

    def exited(server: Any, worker: Any) -> None:
        waits.release(getattr(worker, "agent_row", None))
        child_exit(server, worker)

    return {
        "when_ready": when_ready,
        "pre_fork": pre_fork,
        "post_fork": post_fork,
        "child_exit": exited,
    }


def fresh_metrics_directory() -> None:
    """A fresh metrics directory per start: stale files would add old counts to new ones.

    Called when gunicorn reads its configuration, before ``preload_app`` builds the app (whose
    metrics need the directory); gunicorn's ``on_starting`` hook would come after that.
    """
    if _settings.prometheus_multiproc_dir:
        directory = Path(_settings.prometheus_multiproc_dir)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges must not linger in the sums."""
    mark_worker_dead(_settings, worker.pid)
