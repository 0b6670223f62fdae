"""The resilience policy the client tests wrap around inventory: the production defaults' shape,
with whatever a test needs changed."""

from __future__ import annotations

from typing import Any

from order_service.inventory import InventoryUnavailable
from shared.resilience.breaker import Breaker
from shared.resilience.bulkhead import Bulkhead
from shared.resilience.policy import Policy


def policy(*, breaker: Breaker | None = None, bulkhead: int = 16, **changes: Any) -> Policy:
    """A policy with a breaker that opens after 5 failures in a row, 3 attempts, a 6 s deadline
    and short backoffs, unless ``changes`` say otherwise."""
    options: dict[str, Any] = {
        "attempts": 3,
        "deadline_s": 6.0,
        "backoff_base_s": 0.1,
        "backoff_max_s": 2.0,
        "unavailable": InventoryUnavailable,
    }
    return Policy(
        breaker=breaker or Breaker("test", fail_max=5, reset_timeout_s=10),
        bulkhead=Bulkhead(bulkhead),
        **(options | changes),
    )
