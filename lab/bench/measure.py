"""What the bench measures with: CPU of process groups, memory, percentiles, a slow server."""

from __future__ import annotations

import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from shared.config import Settings


def layer_cost_us(calls: int = 20000) -> float:
    """CPU the resilience layer adds to one inventory call, against an instant inventory."""
    from order_service.bootstrap import build_inventory
    from order_service.domain import OrderLine
    from order_service.inventory import InventoryReply, ReservationState
    from shared.metrics import ClientMetrics

    class Instant:
        def reserve(self, rid: str, lines: Any, *, timeout_s: float | None = None) -> Any:
            return InventoryReply(ReservationState.RESERVED)

    client = build_inventory(Settings(), ClientMetrics(None))
    client.inner = Instant()  # type: ignore[union-attr]
    lines, bare = [OrderLine("A", 1)], Instant()
    started = time.perf_counter()
    for _ in range(calls):
        client.reserve("r", lines)
    layered = time.perf_counter() - started
    started = time.perf_counter()
    for _ in range(calls):
        bare.reserve("r", lines)
    direct = time.perf_counter() - started
    return round((layered - direct) / calls * 1e6, 1)


class Server(ThreadingHTTPServer):
    # The default listen backlog of 5 drops simultaneous connects beyond it; the client then
    # waits for a SYN retransmit (1 s) and the measurement shows the kernel, not the client.
    request_queue_size = 64
    daemon_threads = True


class SlowServer:
    """Answers every reservation after ``delay_s``: an inventory that is slow but healthy."""

    def __init__(self, delay_s: float) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_PUT(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                time.sleep(delay_s)  # the slowness being measured
                body = b'{"status": "RESERVED", "shortages": []}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


HZ = os.sysconf("SC_CLK_TCK")


def cpu_ticks(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # a process that ended meanwhile
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total


def children_cpu_s() -> float:
    """CPU seconds used by this process's finished children (wrk, once it is reaped)."""
    usage = os.times()
    return usage.children_user + usage.children_system


def peak_rss_mb(pids: list[int]) -> float:
    peak = 0
    for pid in pids[1:]:  # the workers, not the master
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return round(peak / 1024, 1)


# The process groups whose CPU the bench reads (``load.wrk`` returns each one's CPU seconds).
# HAProxy and Redis run only when scaled out (the "scaled" scenario).
GROUPS = ("orders", "inventory", "reconciler", "postgres", "haproxy", "redis", "wrk")


def ms_per_order(results: list[dict[str, Any]]) -> dict[str, float]:
    """CPU ms per confirmed (201) order of each process group over wrk runs, and the total."""
    confirmed = max(1, sum(r["codes"].get(201, 0) for r in results))
    per = {g: sum(r["cpu_s"].get(g, 0.0) for r in results) * 1000 / confirmed for g in GROUPS}
    per["total"] = sum(per.values())
    return {g: round(v, 2) for g, v in per.items()}


def q(ordered: list[float], q: float) -> float:
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1) if ordered else 0.0


def count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())
