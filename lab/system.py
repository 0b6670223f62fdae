"""The whole system as real processes on free ports: both gunicorns and the reconciler.

Used by the end-to-end tests and by ``make test-chaos``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import requests
from sqlalchemy import Engine, text

from lab import processes
from lab.invariants import Observed
from lab.postgres import Database, LocalCluster, free_port, provision
from shared.auth import Role
from shared.auth.tokens import TokenIssuer
from shared.config import Settings
from shared.db import make_engine
from shared.migrate import upgrade

LAB_LIMIT = "1000000/second"


def empty_tables(engine: Engine) -> None:
    """Delete every row of every table but Alembic's (between tests and scenarios)."""
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            )
            .scalars()
            .all()
        )
        conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))


@dataclass
class System:
    settings: Settings
    logdir: Path
    env_overrides: dict[str, str] = field(default_factory=dict)
    # Per process ("orders", "inventory", "reconciler"), over env_overrides: each service runs in
    # its own environment in production too, so each may have its own layout.
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.order_port, self.inventory_port = free_port(), free_port()
        self.reconciler_metrics_port = free_port()
        self.orders = f"http://127.0.0.1:{self.order_port}/api/v1"
        self.inventory = f"http://127.0.0.1:{self.inventory_port}/api/v1"
        self.http = requests.Session()
        # The laboratory runs the system, so it holds its signing key and mints tokens for its
        # simulated customers as an identity provider would (login is tested on its own).
        self._issuer = TokenIssuer(self.settings.auth_signing_key, self.settings.auth_issuer)
        self._tokens: dict[tuple[str, Role, str], dict[str, str]] = {}

    def auth(
        self, subject: str = "lab-admin", role: Role = Role.ADMIN, audience: str | None = None
    ) -> dict[str, str]:
        """An ``Authorization`` header for this subject and role (cached; tokens last 1 h)."""
        aud = audience or self.settings.auth_audience
        found = self._tokens.get((subject, role, aud))
        if found is None:
            token = self._issuer.issue(subject, role, aud, 3600)
            found = self._tokens[(subject, role, aud)] = {"Authorization": f"Bearer {token}"}
        return found

    def env(self) -> dict[str, str]:
        s = self.settings
        return {
            **self.base_env(s),
            **self.env_overrides,
        }

    def base_env(self, s: Settings) -> dict[str, str]:
        return {
            **os.environ,
            "APP_ENV": "test",
            "ORDER_BIND": f"127.0.0.1:{self.order_port}",
            "INVENTORY_BIND": f"127.0.0.1:{self.inventory_port}",
            "INVENTORY_URL": f"http://127.0.0.1:{self.inventory_port}",
            "WEB_WORKERS": "2",
            "WEB_THREADS": "4",
            "LOG_LEVEL": "INFO",
            "DB_POOL_SIZE": "4",
            "RECONCILER_INTERVAL_S": "0.2",
            # Short enough that failure tests settle in seconds, long enough to be realistic.
            "ORDER_RESERVE_DEADLINE_S": "2",
            "INVENTORY_READ_TIMEOUT_S": "1",
            "BREAKER_RESET_TIMEOUT_S": "1",
            "OUTBOX_RETRY_MAX_S": "1",
            "IDEMPOTENCY_LEASE_S": "3",
            "RECONCILER_BATCH_SIZE": "5",
            "CHAOS_ENABLED": "true",
            "RECONCILER_METRICS_BIND": f"127.0.0.1:{self.reconciler_metrics_port}",
            "ADMIN_TOKEN": s.admin_token,
            # The load tools must measure the system, not its rate limits.
            "RATE_LIMIT_ORDERS_PER_CUSTOMER": LAB_LIMIT,
            "RATE_LIMIT_ORDERS_PER_ADDRESS": LAB_LIMIT,
            "RATE_LIMIT_AUTH_PER_ADDRESS": LAB_LIMIT,
            "RATE_LIMIT_AUTH_PER_EMAIL": LAB_LIMIT,
        }

    def process_env(self, name: str) -> dict[str, str]:
        """The environment of one process: only its own database's URL, as in production."""
        service = "inventory" if name == "inventory" else "orders"
        env = processes.own_database_only(self.env(), service, self.settings)
        return {**env, **self.service_env.get(name, {})}

    def start(self, name: str) -> None:
        """Start one of "inventory", "orders", "reconciler" and wait until it serves."""
        if name == "reconciler":
            command = [sys.executable, "-m", "order_service.reconciler"]
            ready = None
        else:
            command = processes.gunicorn_command(name)
            port = self.order_port if name == "orders" else self.inventory_port
            ready = f"http://127.0.0.1:{port}/health/ready"
        log = self.logdir / f"{name}.log"
        seen = log.stat().st_size if log.exists() else 0
        env = self.process_env(name)
        if name != "reconciler":  # gunicorn workers share their metrics through files
            env["PROMETHEUS_MULTIPROC_DIR"] = str(self.logdir / f"metrics-{name}")
        proc = processes.start(command, log, env)
        self.procs[name] = proc
        if ready:
            processes.wait_ready(ready, process=proc)
        else:
            processes.wait_for_line(log, "reconciler started", after=seen, process=proc)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.terminate()  # gunicorn and the reconciler both stop gracefully on SIGTERM
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash would: no graceful anything."""
        proc = self.procs.pop(name)
        proc.kill()
        proc.wait()

    def ensure_running(self) -> None:
        for name in ("inventory", "orders", "reconciler"):
            proc = self.procs.get(name)
            if proc is None or proc.poll() is not None:
                self.procs.pop(name, None)
                self.start(name)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)
        self.http.close()

    # small API client -----------------------------------------------------------------------
    def place(
        self, customer: str, items: list[tuple[str, int]], key: str | None = None
    ) -> requests.Response:
        headers = {**self.auth(customer, Role.CUSTOMER)}
        if key:
            headers["Idempotency-Key"] = key
        body = {"items": [{"sku": s, "quantity": q} for s, q in items]}
        return self.http.post(f"{self.orders}/orders", json=body, headers=headers, timeout=30)

    def place_definite(
        self,
        key: str,
        customer: str,
        items: list[tuple[str, int]],
        observed: Observed,
        *,
        tries: int = 120,
    ) -> tuple[requests.Response, float]:
        """A careful client: retry with the same key until the order has a definite answer.

        Returns the answer and the latency of that last request in milliseconds.
        """
        for _ in range(tries):
            started = time.perf_counter()
            try:
                response = self.place(customer, items, key=key)
            except (
                requests.ConnectionError,
                requests.exceptions.ChunkedEncodingError,
                requests.Timeout,
            ):
                # No answer, or half of one (a worker died while sending it): the key makes
                # asking again safe. Recorded as status 0.
                observed.record(None, 0, {})
                continue
            elapsed_ms = (time.perf_counter() - started) * 1000
            observed.record(key, response.status_code, response.json(), elapsed_ms)
            if response.status_code in (201, 202, 422):
                return response, elapsed_ms
            if response.status_code == 409:  # the first request with this key still runs
                time.sleep(float(response.headers.get("Retry-After", "1")))
        raise RuntimeError(f"no definite answer for {key} after {tries} tries")

    def order(self, order_id: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(
            f"{self.orders}/orders/{order_id}", headers=self.auth(), timeout=10
        ).json()
        return body

    def act(self, order_id: str, action: str) -> requests.Response:
        """Cancel, ship or deliver, as an admin."""
        return self.http.post(
            f"{self.orders}/orders/{order_id}/{action}", headers=self.auth(), timeout=30
        )

    def product(self, sku: str) -> dict[str, Any]:
        body: dict[str, Any] = self.http.get(f"{self.inventory}/products/{sku}", timeout=10).json()
        return body

    def create_product(self, sku: str, on_hand: int) -> None:
        response = self.http.post(
            f"{self.inventory}/products",
            headers=self.auth(),
            timeout=10,
            json={"sku": sku, "name": sku.lower(), "on_hand": on_hand},
        )
        assert response.status_code == 201, response.text


class Environment:
    """A throwaway PostgreSQL with both databases migrated, and the system running on it.

    ``make test-chaos`` and ``make bench`` each run inside one; they never touch the databases
    a user configured, since they empty tables between scenarios.
    """

    def __init__(self, name: str, env: dict[str, str], admin_token: str, *, fast: bool) -> None:
        self.name, self.env_overrides, self.admin_token, self.fast = name, env, admin_token, fast

    def __enter__(self) -> Self:
        self.root = Path(tempfile.mkdtemp(prefix=f"{self.name}-"))
        self.root.chmod(0o755)  # the server may run as 'postgres'
        self.cluster = LocalCluster(self.root / "pg", free_port(), fast=self.fast)
        self.cluster.start()
        try:
            self._start()
        except BaseException:  # an interrupted start must not leave processes behind
            self.cluster.stop()
            raise
        return self

    def _start(self) -> None:
        dbs = [
            Database("orders", f"orders_{self.name}", f"orders-{self.name}-pw"),
            Database("inventory", f"inventory_{self.name}", f"inventory-{self.name}-pw"),
        ]
        provision(self.cluster.admin_conninfo(), dbs)
        self.settings = Settings(
            app_env="test",
            admin_token=self.admin_token,
            orders_database_url=dbs[0].url("127.0.0.1", self.cluster.port),
            inventory_database_url=dbs[1].url("127.0.0.1", self.cluster.port),
            orders_owner_database_url=dbs[0].owner_url("127.0.0.1", self.cluster.port),
            inventory_owner_database_url=dbs[1].owner_url("127.0.0.1", self.cluster.port),
        )
        upgrade("orders", self.settings.owner_database_url("orders"))
        upgrade("inventory", self.settings.owner_database_url("inventory"))
        # The laboratory is the operator: it empties tables between scenarios, as the owner.
        self.orders = make_engine(
            self.settings.owner_database_url("orders"), self.settings, application_name=self.name
        )
        self.inventory = make_engine(
            self.settings.owner_database_url("inventory"),
            self.settings,
            application_name=self.name,
        )
        self.system = System(
            self.settings, self.root / "logs", env_overrides=dict(self.env_overrides)
        )
        try:
            for process in ("inventory", "orders", "reconciler"):
                self.system.start(process)
        except BaseException:
            self.system.stop_all()
            raise

    def __exit__(self, *exc: object) -> None:
        self.system.stop_all()
        self.orders.dispose()
        self.inventory.dispose()
        self.cluster.stop()
