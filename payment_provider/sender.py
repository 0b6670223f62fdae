"""The webhook sender: a thread in every provider worker sends the copies that are due.

Each pass claims due copies with ``FOR UPDATE SKIP LOCKED`` and pushes their due time past a
lease before sending, so two workers never send one copy at once and a worker that dies
mid-send leaves the copy to be sent again when the lease ends. A copy answered 2xx is done;
anything else (an error status, no answer) is tried again with exponential backoff, up to
``attempts`` times, as hosted providers do. A forged copy is sent once, whatever the answer.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from sqlalchemy import Engine, select, text, update

from payment_provider.tables import deliveries, events
from shared import signing

log = logging.getLogger("payment_provider.sender")
FORGED_SECRET = "not-the-merchants-secret"  # what an attacker without the secret signs with


@dataclass
class Sender:
    engine: Engine
    url: str
    secrets: Sequence[str]
    attempts: int = 8
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    interval_s: float = 0.2
    batch: int = 20
    timeout_s: float = 5.0
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)

    def __post_init__(self) -> None:
        self.session = requests.Session()
        self.session.trust_env = False

    def start(self) -> threading.Thread:
        thread = threading.Thread(target=self._run, name="webhook-sender", daemon=True)
        thread.start()
        return thread

    def _run(self) -> None:
        while True:
            try:
                sent = self.run_once()
            except Exception:  # the database away: try again next pass
                log.exception("webhook pass failed")
                sent = 0
            if not sent:
                time.sleep(self.interval_s)

    def run_once(self) -> int:
        now = self.clock()
        lease = now + timedelta(seconds=self.timeout_s + 5)
        with self.engine.begin() as conn:
            due = conn.execute(
                select(
                    deliveries.c.id, deliveries.c.attempts, deliveries.c.forged, events.c.payload
                )
                .join(events, events.c.id == deliveries.c.event_id)
                .where(
                    deliveries.c.delivered_at.is_(None),
                    deliveries.c.given_up_at.is_(None),
                    deliveries.c.due_at <= now,
                )
                .order_by(deliveries.c.due_at)
                .limit(self.batch)
                .with_for_update(of=deliveries, skip_locked=True)
            ).all()
            if due:
                conn.execute(
                    update(deliveries)
                    .where(deliveries.c.id.in_([d.id for d in due]))
                    .values(due_at=lease)
                )
        for copy in due:
            self._send(copy)
        return len(due)

    def _send(self, copy: Any) -> None:
        body = json.dumps(copy.payload, separators=(",", ":")).encode()
        stamp = int(self.clock().timestamp())
        keys = [FORGED_SECRET] if copy.forged else list(self.secrets)
        headers = {
            "Content-Type": "application/json",
            signing.HEADER: signing.header(keys, stamp, body),
        }
        status: int | None = None
        error: str | None = None
        try:
            response = self.session.post(
                self.url, data=body, headers=headers, timeout=self.timeout_s
            )
            status = response.status_code
        except requests.RequestException as exc:
            error = type(exc).__name__
        now = self.clock()
        attempts = copy.attempts + 1
        values: dict[str, Any] = {"attempts": attempts, "last_status": status, "last_error": error}
        if status is not None and 200 <= status < 300:
            values["delivered_at"] = now
        elif copy.forged or attempts >= self.attempts:
            values["given_up_at"] = now
        else:
            delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (attempts - 1))
            values["due_at"] = now + timedelta(seconds=delay)
        with self.engine.begin() as conn:
            conn.execute(update(deliveries).where(deliveries.c.id == copy.id).values(**values))
        log.info(
            "webhook sent",
            extra={
                "event": copy.payload["id"],
                "status": status,
                "error": error,
                "forged": copy.forged,
            },
        )


def backlog(engine: Engine) -> dict[str, int]:
    """Copies still to send (real ones), and those given up on."""
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND given_up_at IS NULL)"
                " AS waiting,"
                " count(*) FILTER (WHERE given_up_at IS NOT NULL AND NOT forged) AS given_up"
                " FROM deliveries"
            )
        ).one()
    return {"waiting": int(row.waiting), "given_up": int(row.given_up)}
