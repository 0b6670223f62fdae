"""Webhook gremlins: what a hosted provider's webhooks do on a bad day, on purpose.

- ``copies``: every event is sent this many times (providers deliver at least once);
- ``delay_ms``: every copy waits this long before its first attempt (a slow queue);
- ``spread_ms``: each copy waits a further random 0..spread, so events of one payment arrive
  in any order (a later event first);
- ``forged``: the share of events that also get a copy signed with a wrong secret, as an
  attacker would send; it is sent once and never retried.

Set over ``PUT /chaos/webhooks`` (the admin token, like the other gremlins); ``DELETE`` puts
every one back to nothing. The provider's other gremlins are the ``chaos`` package's, at its
``/chaos`` (``python -m chaos --url http://127.0.0.1:3004 ...``).
The choices come from ``seed`` and the event id, so a run can be repeated.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from sqlalchemy import Connection, delete, select
from sqlalchemy.dialects.postgresql import insert

from payment_provider.tables import faults

MAX_COPIES = 5
MAX_DELAY_MS = 600_000


@dataclass(frozen=True)
class Faults:
    copies: int = 1
    delay_ms: int = 0
    spread_ms: int = 0
    forged: float = 0.0
    seed: int = 0

    def problems(self) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if not 1 <= self.copies <= MAX_COPIES:
            found["copies"] = [f"from 1 to {MAX_COPIES}"]
        for name in ("delay_ms", "spread_ms"):
            if not 0 <= getattr(self, name) <= MAX_DELAY_MS:
                found[name] = [f"from 0 to {MAX_DELAY_MS}"]
        if not 0 <= self.forged <= 1:
            found["forged"] = ["a share from 0 to 1"]
        return found

    def as_json(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Copy:
    delay_ms: int
    forged: bool = False


def plan(f: Faults, event_id: str) -> list[Copy]:
    """The copies of one event to send: when each goes, and which is forged."""
    rng = random.Random(f"{f.seed}:{event_id}")
    copies = [Copy(f.delay_ms + rng.randint(0, f.spread_ms)) for _ in range(f.copies)]
    if f.forged and rng.random() < f.forged:
        copies.append(Copy(rng.randint(0, f.delay_ms + f.spread_ms), forged=True))
    return copies


def current(conn: Connection) -> Faults:
    row = conn.execute(select(faults).where(faults.c.name == "webhooks")).one_or_none()
    if row is None:
        return Faults()
    return Faults(row.copies, row.delay_ms, row.spread_ms, row.forged, row.seed)


def put(conn: Connection, f: Faults) -> None:
    values = {"name": "webhooks", **asdict(f)}
    conn.execute(
        insert(faults).values(values).on_conflict_do_update(index_elements=["name"], set_=values)
    )


def clear(conn: Connection) -> None:
    conn.execute(delete(faults))
