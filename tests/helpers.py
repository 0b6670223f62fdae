"""Small helpers the test tiers share: bounded polling, racing threads, serving an app."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import make_server


def wait_until(condition: Callable[[], Any], timeout_s: float = 10.0, poll_s: float = 0.01) -> Any:
    """Poll ``condition`` until it returns something true; fail (never hang) after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout_s} s")
        time.sleep(poll_s)  # polling interval, not a guess at how long something takes


def run_threads(count: int, target: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """Start ``count`` threads together (a barrier), run ``target(i)``; results and errors."""
    barrier = threading.Barrier(count)
    results: list[Any] = []
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        barrier.wait()
        try:
            results.append(target(i))
        except Exception as exc:  # collected for the test to assert on
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results, errors


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve a Flask app on 127.0.0.1 in a thread; yields its URL, then stops and cleans up."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        app.extensions["engine"].dispose()


@dataclass(frozen=True)
class Placed:
    """A placement as a client sees it: status, decoded body, replayed, and the raw text."""

    status: int
    body: dict[str, Any]
    replayed: bool
    text: str


def place_order(ctx: Any, customer: str, lines: Any, key: str | None, rid: str = "req") -> Placed:
    """``services.place_order`` rendered by the real presenter, as the view does."""
    from order_service import presenters, services

    placed = services.place_order(
        ctx, customer, lines, key, lambda order: presenters.placement(order, rid)
    )
    status, text = placed.answer
    return Placed(status, json.loads(text), placed.replayed, text)


def bearer(
    role: str = "customer", subject: str = "c-1", audience: str | None = None
) -> dict[str, str]:
    """An ``Authorization`` header with a token from the real issuer and the configured key."""
    from shared.auth import Role
    from shared.auth.tokens import TokenIssuer
    from shared.config import Settings

    settings = Settings()
    issuer = TokenIssuer(settings.auth_signing_key, settings.auth_issuer)
    aud = audience or ("inventory" if role == "service" else settings.auth_audience)
    return {"Authorization": f"Bearer {issuer.issue(subject, Role(role), aud, 900)}"}


def authorised(client: Any, role: str = "admin", subject: str = "test-admin") -> Any:
    """A Flask test client that sends this role's token with every request."""
    client.environ_base["HTTP_AUTHORIZATION"] = bearer(role, subject)["Authorization"]
    return client


@contextmanager
def gremlin(base: str, name: str, **body: Any) -> Iterator[None]:
    """A gremlin set on the service at ``base`` for the block, and every gremlin gone after."""
    import requests

    admin = bearer("admin")
    requests.put(f"{base}/chaos/{name}", headers=admin, timeout=5, json=body).raise_for_status()
    try:
        yield
    finally:
        requests.delete(f"{base}/chaos", headers=admin, timeout=5).raise_for_status()
