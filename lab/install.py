"""``python -m lab.install``: what ``make test`` needs on this machine, installed when missing.

Every test runs against real parts (PostgreSQL, Redis, HAProxy, Prometheus, Chromium), so a part
that is not installed would only skip its tests. ``make test`` runs this first, as ``make up``
installs PostgreSQL and Prometheus: on a fresh Debian machine (as root) nothing is skipped for
want of a package, and in CI a skip fails the run (``--no-skips``, tests/conftest.py).
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Callable

from lab import postgres, processes


def _command(name: str) -> Callable[[], bool]:
    return lambda: (
        shutil.which(name) is not None or shutil.which(name, path="/usr/sbin") is not None
    )


def _postgres() -> bool:
    try:
        postgres.find_bindir(install=False)
    except postgres.PostgresUnavailable:
        return False
    return True


# The Debian package of each part the tests use, and how to tell it is there.
PARTS: dict[str, Callable[[], bool]] = {
    "postgresql": _postgres,
    "redis-server": _command("redis-server"),  # the shared breaker and rate limits
    "haproxy": _command("haproxy"),  # several instances behind a load balancer
    "prometheus": _command("promtool"),  # alert rule tests and the live PromQL check
    "chromium": _command("chromium"),  # the console's browser tests
}
# No Debian package brings these; they must be on the machine already.
PREREQUISITES = {"kubectl": "the Kubernetes material is rendered offline with `kubectl kustomize`"}


def missing() -> list[str]:
    """The packages of the parts that are not installed."""
    return [package for package, present in PARTS.items() if not present()]


def main() -> int:
    wanted = missing()
    if wanted and not processes.apt_install(*wanted):
        print(f"install these and run again: sudo apt-get install {' '.join(wanted)}")
        return 1
    absent = [f"{name} ({why})" for name, why in PREREQUISITES.items() if not shutil.which(name)]
    if absent:
        print("not installed, and no Debian package brings it: " + "; ".join(absent))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
