"""``make test-chaos``: run the chaos scenarios against the real system and check the guarantees.

``python -m lab.chaos [--scenario NAME ...] [--scale F] [--json PATH]``

It starts a throwaway PostgreSQL and both services plus the reconciler as real processes, then
for each scenario in ``lab/chaos/scenarios/``: empties the databases, adds products (two
plentiful, one scarce so that rejections happen), turns on the scenario's gremlins, places orders
from concurrent clients that retry with their Idempotency-Key until they get a definite answer (and
cancel or ship some), applies the scenario's events (inventory stopped and started), removes the
gremlins, waits for the reconciler to drain, and checks every invariant of the design. It prints
a table and writes a JSON report; the exit status is 1 when any invariant failed.
"""

from __future__ import annotations

from lab.chaos.scenario import ADMIN_TOKEN, all_scenarios, run_scenario

__all__ = ["ADMIN_TOKEN", "all_scenarios", "run_scenario"]
