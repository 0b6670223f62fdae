"""Shared fixtures: one real PostgreSQL per test session, each test starting from empty tables.

PostgreSQL comes from testcontainers when a Docker engine answers, otherwise from a throwaway
cluster started from the system's binaries. Never SQLite, never a mocked database.
"""

from __future__ import annotations

import gc
import shutil
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import NamedTuple

import pytest
from sqlalchemy import Engine

from lab.postgres import Database, LocalCluster, free_port, provision, scratch_dir
from lab.system import empty_tables
from shared.config import Settings
from shared.db import make_engine
from shared.migrate import upgrade

ORDERS_DB = Database("orders_test", "orders_test", "orders-test-pw")
INVENTORY_DB = Database("inventory_test", "inventory_test", "inventory-test-pw")
# The payment provider stand-in's own database (it connects as the owner: it makes its tables).
PAYMENTS_DB = Database("payments_test", "payments_test", "payments-test-pw")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-skips",
        action="store_true",
        help="a skipped test fails the run (CI: every part the tests need must be there)",
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if session.config.getoption("--no-skips") and skipped and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if reporter:
            reporter.write_line(f"--no-skips: {skipped} tests skipped, so the run fails", red=True)


@dataclass(frozen=True)
class Postgres:
    admin_conninfo: str
    host: str
    port: int


def _docker_available() -> bool:
    import docker

    # docker-py leaks its socket when the engine is missing; collect it here, where the
    # ResourceWarning is expected, instead of inside whichever test runs the garbage collector.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            client = docker.from_env(timeout=2)
        except Exception:  # no client configuration, socket or engine: none is reachable
            return False
        finally:
            gc.collect()
    try:
        return bool(client.ping())
    except Exception:  # an engine that does not answer is as good as none
        return False
    finally:
        client.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    if _docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as pg:
            host, port = pg.get_container_host_ip(), int(pg.get_exposed_port(5432))
            yield Postgres(
                f"host={host} port={port} user={pg.username} password={pg.password} "
                f"dbname={pg.dbname}",
                host,
                port,
            )
        return
    cluster = LocalCluster(scratch_dir("orders-test-pg-"), free_port(), fast=True)
    cluster.start()
    try:
        yield Postgres(cluster.admin_conninfo(), "127.0.0.1", cluster.port)
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def settings(postgres: Postgres) -> Settings:
    """Settings of the test system, migrated databases included."""
    provision(postgres.admin_conninfo, [ORDERS_DB, INVENTORY_DB, PAYMENTS_DB])
    result = Settings(
        app_env="test",
        orders_database_url=ORDERS_DB.url(postgres.host, postgres.port),
        inventory_database_url=INVENTORY_DB.url(postgres.host, postgres.port),
        orders_owner_database_url=ORDERS_DB.owner_url(postgres.host, postgres.port),
        inventory_owner_database_url=INVENTORY_DB.owner_url(postgres.host, postgres.port),
        payments_provider_database_url=PAYMENTS_DB.owner_url(postgres.host, postgres.port),
        log_level="WARNING",
    )
    upgrade("orders", result.owner_database_url("orders"))
    upgrade("inventory", result.owner_database_url("inventory"))
    return result


class Engines(NamedTuple):
    """One database as the service's runtime role (rows only) and as its owner (may TRUNCATE)."""

    runtime: Engine
    owner: Engine


def _engines(settings: Settings, service: str) -> Iterator[Engines]:
    engines = Engines(
        make_engine(settings.database_url(service), settings, application_name="tests"),
        make_engine(settings.owner_database_url(service), settings, application_name="tests"),
    )
    yield engines
    for engine in engines:
        engine.dispose()


@pytest.fixture(scope="session")
def _orders(settings: Settings) -> Iterator[Engines]:
    yield from _engines(settings, "orders")


@pytest.fixture(scope="session")
def _inventory(settings: Settings) -> Iterator[Engines]:
    yield from _engines(settings, "inventory")


@pytest.fixture
def orders_engine(_orders: Engines) -> Iterator[Engine]:
    """The order database as the service's runtime role, emptied after the test."""
    yield _orders.runtime
    empty_tables(_orders.owner)


@pytest.fixture
def inventory_engine(_inventory: Engines) -> Iterator[Engine]:
    """The inventory database as the service's runtime role, emptied after the test."""
    yield _inventory.runtime
    empty_tables(_inventory.owner)


@pytest.fixture
def orders_owner_engine(_orders: Engines) -> Iterator[Engine]:
    """The order database as its owner (the laboratory's view: it may TRUNCATE), emptied after."""
    yield _orders.owner
    empty_tables(_orders.owner)


@pytest.fixture
def inventory_owner_engine(_inventory: Engines) -> Iterator[Engine]:
    """The inventory database as its owner, emptied after the test."""
    yield _inventory.owner
    empty_tables(_inventory.owner)


@pytest.fixture
def redis_server(tmp_path):
    """A throwaway redis-server on a free port (the test is skipped where it is not installed)."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    from lab.redis_server import LocalRedis

    server = LocalRedis(free_port(), tmp_path / "redis")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server):
    return redis_server.url
