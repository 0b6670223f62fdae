"""This commit against a baseline commit, same load, same run: CPU per confirmed order.

The stack's floor (``lab.bench.floor``: the pattern with every feature taken away) is loaded in
the same rounds, so the report can say how much of a target the features may spend.

The machine's speed drifts from day to day by more than the differences being measured, so a
figure taken on another day says little. Both systems are started side by side instead (the
baseline from a temporary ``git worktree``, each on its own throwaway PostgreSQL), and short
wrk rounds rotate between them (A B C C B A ...), so all see the same drift. Only one system is
loaded at a time; the idle ones cost next to nothing and are not counted.

CPU is read from /proc for each process group (order service master and workers, inventory
service, reconciler, PostgreSQL with its backends) and for wrk, and divided by the orders
confirmed (201), so a faster system that confirms fewer orders does not look cheaper.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from lab import processes
from lab.bench.floor import FloorSide
from lab.bench.load import PLENTY, ROOT, wrk
from lab.bench.measure import ms_per_order

SIDE = Path(__file__).with_name("side.py")
DEFAULT_BASELINE = "817e143"
# Each commit's own bench module with the Bench class that starts its system.
BENCH_MODULES = ("lab.bench.load", "chaos.bench")


class Side:
    """One commit's system, started by ``side.py`` in its own process."""

    def __init__(self, label: str, checkout: Path, logs: Path) -> None:
        self.label, self.checkout, self.logs = label, checkout, logs

    def __enter__(self) -> Side:
        module = next(
            m for m in BENCH_MODULES if (self.checkout / (m.replace(".", "/") + ".py")).exists()
        )
        self.info_file = self.logs / f"{self.label}.json"
        self.log = (self.logs / f"{self.label}.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, str(SIDE), module, str(self.info_file)],
            cwd=self.checkout,
            env={**os.environ, "PYTHONPATH": str(self.checkout)},
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 180
        while not self.info_file.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.__exit__()
                raise RuntimeError(f"the {self.label} system did not start: see {self.log.name}")
            time.sleep(0.2)  # polling for the file the side writes once its system serves
        self.info: dict[str, Any] = json.loads(self.info_file.read_text())
        expected = str(self.checkout / "shared" / "__init__.py")
        if self.info["source"] != expected:  # the commit measured must be the one checked out
            self.__exit__()
            raise RuntimeError(f"{self.label} ran {self.info['source']}, not {expected}")
        return self

    def groups(self) -> dict[str, list[int]]:
        parents = {**self.info["parents"], "postgres": self.info["postmaster"]}
        return {name: [pid, *processes.children(pid)] for name, pid in parents.items()}

    def load(self, name: str, clients: int, seconds: float) -> dict[str, Any]:
        return wrk(
            f"{self.label}-{name}",
            clients,
            PLENTY,
            seconds,
            self.info["port"],
            self.info["token"],
            self.groups(),
            customer="bench",  # the same body for both: the baseline needs the customer named
        )

    def __exit__(self, *exc: object) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()  # the side stops its system and exits
        try:
            self.proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def compare(
    baseline: str = DEFAULT_BASELINE, rounds: int = 6, seconds: float = 8, clients: int = 16
) -> dict[str, Any]:
    """Alternate wrk rounds between ``baseline`` and this working tree; the figures of both."""
    revision = _git("rev-parse", "--short", baseline)
    logs = Path(tempfile.mkdtemp(prefix="bench-compare-"))
    tree = logs / "baseline"
    _git("worktree", "add", "--detach", str(tree), revision)
    runs: dict[str, list[dict[str, Any]]] = {"baseline": [], "current": [], "floor": []}
    try:
        with (
            Side("baseline", tree, logs) as old,
            Side("current", ROOT, logs) as new,
            FloorSide(logs) as floor,
        ):
            sides: dict[str, Side | FloorSide] = {"baseline": old, "current": new, "floor": floor}
            for side in sides.values():  # warm them up: first requests import and connect
                side.load("warmup", clients, 2)
            for n in range(rounds):
                order = list(sides) if n % 2 == 0 else list(reversed(sides))
                for label in order:
                    result = sides[label].load(f"round{n}", clients, seconds)
                    runs[label].append(result)
                    print(
                        f"  {label} round {n + 1}/{rounds}: "
                        f"{result['successful_per_s']} confirmed/s, "
                        f"{ms_per_order([result])['total']:.2f} ms CPU/order",
                        flush=True,
                    )
    finally:
        _git("worktree", "remove", "--force", str(tree))
    figures = {label: summarise(results) for label, results in runs.items()}
    return {
        "baseline_commit": revision,
        "current_commit": _git("rev-parse", "--short", "HEAD"),
        "clients": clients,
        "rounds": rounds,
        "seconds_per_round": seconds,
        "command": runs["current"][0]["command"],
        **figures,
        "cpu_ratio": round(
            figures["current"]["cpu_ms"]["total"] / figures["baseline"]["cpu_ms"]["total"], 3
        ),
        "throughput_ratio": round(
            figures["current"]["confirmed_per_s"] / figures["baseline"]["confirmed_per_s"], 3
        ),
        "floor_ratio": round(
            figures["floor"]["cpu_ms"]["total"] / figures["baseline"]["cpu_ms"]["total"], 3
        ),
    }


def summarise(results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = sum(r["seconds"] for r in results)
    requests: int = sum(r["requests"] for r in results)
    confirmed = sum(r["codes"].get(201, 0) for r in results)

    def weighted(q: str) -> float:
        total = sum(float(r["latency_ms"][q]) * int(r["requests"]) for r in results)
        return round(total / requests, 1)

    codes: dict[int, int] = {}
    for r in results:
        for code, n in r["codes"].items():
            codes[code] = codes.get(code, 0) + n
    return {
        "requests": requests,
        "confirmed": confirmed,
        "codes": dict(sorted(codes.items())),
        "confirmed_per_s": round(confirmed / seconds, 1),
        "rounds_confirmed_per_s": [r["successful_per_s"] for r in results],
        "p50_ms": weighted("p50"),
        "p99_ms": weighted("p99"),
        "cpu_ms": ms_per_order(results),
    }


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=ROOT, text=True, capture_output=True, check=True
    ).stdout.strip()


if __name__ == "__main__":
    print(json.dumps(compare(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_BASELINE), indent=2))
