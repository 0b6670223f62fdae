"""Flame graphs of both services under the bench's healthy load (``make flames``).

py-spy samples every worker of the order and inventory services (``--subprocesses``; only
samples that hold the GIL, so the graphs show where CPU goes, not where threads wait) while
wrk sends the healthy load of ``make bench``. Writes ``docs/flames/<service>.svg``, and with
``--folded`` the folded stacks beside them (``.txt``, one stack per line with its count).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from lab.bench.load import PLENTY, ROOT, Bench
from lab.processes import apt_install

SERVICES = ("orders", "inventory")


def record(seconds: float, clients: int, out: Path, rate: int, folded: bool = False) -> None:
    out.mkdir(parents=True, exist_ok=True)
    pyspy = Path(sys.executable).with_name("py-spy")
    with Bench(seconds) as bench:
        bench.fresh()
        bench.wrk("warmup", clients, PLENTY, seconds=3)
        samplers = []
        for service in SERVICES:
            pid = bench.system.procs[service].pid
            formats = [("flamegraph", "svg"), *([("raw", "txt")] if folded else [])]
            for fmt, suffix in formats:
                samplers.append(
                    subprocess.Popen(
                        [
                            str(pyspy),
                            "record",
                            "--pid",
                            str(pid),
                            "--subprocesses",
                            "--rate",
                            str(rate),
                            "--duration",
                            str(round(seconds)),
                            "--format",
                            fmt,
                            "--output",
                            str(out / f"{service}.{suffix}"),
                            "--nonblocking",
                            # Only samples that hold the GIL: where the CPU goes, not where
                            # threads wait on the database or on inventory.
                            "--gil",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                )
        result = bench.wrk("flames", clients, PLENTY, seconds=seconds)
        for sampler in samplers:
            sampler.wait(timeout=seconds + 300)  # writing a graph of many workers takes a while
    print(f"{result['successful_per_s']} confirmed/s under the profilers; flame graphs in {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--rate", type=int, default=250, help="samples per second per process")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "flames")
    parser.add_argument(
        "--folded", action="store_true", help="also write the folded stacks (<service>.txt)"
    )
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        apt_install("wrk")
    record(args.seconds, args.clients, args.out, args.rate, args.folded)
    return 0


if __name__ == "__main__":
    sys.exit(main())
