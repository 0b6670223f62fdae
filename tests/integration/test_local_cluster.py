"""The laboratory's own PostgreSQL: a restart returns with the server up and keeps its log.

The chaos runner's "postgres restarted" scenario restarts the cluster under load; a restart that
never returned would hang the run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest

from lab.postgres import LocalCluster, free_port, scratch_dir


@pytest.fixture
def cluster() -> Iterator[LocalCluster]:
    running = LocalCluster(scratch_dir("cluster-test-") / "pg", free_port(), fast=True)
    running.start()
    try:
        yield running
    finally:
        running.stop()


def test_a_restart_returns_with_the_server_up_and_its_output_in_the_log(
    cluster: LocalCluster,
) -> None:
    with psycopg.connect(cluster.admin_conninfo(), autocommit=True) as conn:
        conn.execute("CREATE TABLE kept (n int)")
        conn.execute("INSERT INTO kept VALUES (1)")
        before = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    ready = "database system is ready to accept connections"
    starts_logged = cluster.logfile.read_text().count(ready)
    failures: list[BaseException] = []

    def restart() -> None:
        try:
            cluster.restart()
        except BaseException as exc:  # reported by the test below
            failures.append(exc)

    worker = threading.Thread(target=restart, daemon=True)
    worker.start()
    worker.join(timeout=60)
    assert not worker.is_alive(), "restart() did not return"
    assert failures == []
    with psycopg.connect(cluster.admin_conninfo()) as conn:
        after = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
        assert conn.execute("SELECT n FROM kept").fetchall() == [(1,)]
    assert before is not None and after is not None and after[0] > before[0]
    assert cluster.logfile.read_text().count(ready) == starts_logged + 1
