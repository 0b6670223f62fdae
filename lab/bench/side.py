"""One whole system for the baseline comparison, run by ``lab.bench.compare`` as a script.

It runs inside a checkout of either commit (this working tree, or a temporary worktree of the
baseline commit on ``PYTHONPATH``), so it uses only what every commit's bench has: a ``Bench``
class that starts the system on a throwaway PostgreSQL (``fresh()``, ``system``, ``cluster``).
It writes what the comparison needs to measure that system (the order service's port, the
process groups' parent pids, a customer's token where the commit has authentication) to a
JSON file, then keeps the system up until its standard input closes.
"""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

sys.path.pop(0)  # this script's folder: the commit being measured comes from PYTHONPATH

module, out = sys.argv[1], Path(sys.argv[2])
with importlib.import_module(module).Bench(1.0) as bench:
    bench.fresh()
    system = bench.system
    token = None
    if hasattr(system, "auth"):  # commits with authentication: a customer's bearer token
        from shared.auth import Role

        header = system.auth("bench", Role.CUSTOMER)["Authorization"]
        token = header.removeprefix("Bearer ")
    info = {
        "source": importlib.import_module("shared").__file__,
        "port": system.order_port,
        "parents": {name: system.procs[name].pid for name in ("orders", "inventory", "reconciler")},
        "postmaster": int((bench.cluster.data / "postmaster.pid").read_text().split()[0]),
        "token": token,
    }
    out.write_text(json.dumps(info))
    sys.stdin.read()  # until the comparison is done with this system
