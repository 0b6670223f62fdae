"""gunicorn builds the app once in the master (preload_app) and forks workers that share nothing."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from lab import processes
from tests.helpers import run_threads, wait_until


def sockets_to(port: int) -> set[int]:
    """Inodes of the TCP sockets on this machine connected to ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            if remote_port == port and fields[9] != "0":
                found.add(int(fields[9]))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def test_two_workers_never_share_a_database_connection(live, settings):
    master = live.procs["orders"].pid
    workers = processes.children(master)
    port = urlsplit(settings.orders_database_url).port

    def every_worker_connected():
        # Concurrent orders until the kernel has handed some to each worker (pools keep the
        # connections open afterwards).
        run_threads(16, lambda i: live.place(f"fork-{i}", [("NO-SUCH-SKU", 1)]))
        database = sockets_to(port)
        held = {pid: socket_inodes(pid) & database for pid in [master, *workers]}
        return held if all(held[w] for w in workers) else None

    held = wait_until(every_worker_connected, timeout_s=30)

    assert len(workers) == 2
    assert not held[master]  # the master built the app but never connected
    first, second = workers
    assert not held[first] & held[second]
