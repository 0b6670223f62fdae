"""How fast a crashed worker comes back: ``python -m lab.respawn [--kills N]``.

Runs inventory with one gunicorn worker, SIGKILLs it (as the crash gremlin does) and polls
``/health/live`` until a new worker answers; reports wall time and the new worker's CPU time
at its first answer, with and without ``preload_app``. One worker, so an answer can only come
from the new one.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import time

import requests

from lab import processes
from lab.bench.measure import HZ, cpu_ticks
from lab.system import Environment


def respawn(env: Environment, kills: int) -> tuple[list[float], list[float]]:
    system = env.system
    live = f"http://127.0.0.1:{system.inventory_port}/health/live"
    master = system.procs["inventory"].pid
    walls, cpus = [], []
    for _ in range(kills):
        (worker,) = processes.children(master)
        os.kill(worker, signal.SIGKILL)
        killed = time.perf_counter()
        while True:
            try:
                if requests.get(live, timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            time.sleep(0.002)
        walls.append((time.perf_counter() - killed) * 1000)
        (new,) = processes.children(master)
        cpus.append(cpu_ticks([new]) * 1000 / HZ)
    return walls, cpus


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    args = parser.parse_args(argv)
    env_vars = {"WEB_WORKERS": "1", "CHAOS_ENABLED": "false"}
    with Environment("respawn", env_vars, "respawn-admin-token", fast=True) as env:
        print("preload_app | crash to answer ms (median / max) | new worker CPU ms (median)")
        for preload in ("false", "true"):
            env.system.stop("inventory")
            env.system.env_overrides["WEB_PRELOAD"] = preload
            env.system.start("inventory")
            walls, cpus = respawn(env, args.kills)
            print(
                f"{preload:<11} | {statistics.median(walls):7.0f} / {max(walls):6.0f}"
                f"{'':17}| {statistics.median(cpus):6.0f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
