"""Run the whole system locally: ``python -m lab.stack up|down|status``.

``up`` provisions a local PostgreSQL when the database URLs are the defaults, migrates both
databases, adds demo products, and starts both services (and the reconciler) in the background.
Running it twice is harmless: what already runs is left alone. ``down`` stops what ``up`` started.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from inventory_service.demo import seed
from lab import processes
from lab.postgres import Database, LocalCluster, provision
from order_service.accounts import ensure_admin
from order_service.bootstrap import build_accounts
from shared.config import (
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDERS_DATABASE_URL,
    Settings,
    load_settings,
)
from shared.migrate import upgrade

RUN = processes.ROOT / ".run"
LOCAL_ADDRESS_LIMIT = "200/second"


def local_databases() -> list[Database]:
    """The default URLs' databases, which ``up`` creates in the local cluster."""
    found = []
    for raw in (DEFAULT_ORDERS_DATABASE_URL, DEFAULT_INVENTORY_DATABASE_URL):
        url = make_url(raw)
        assert url.database and url.username and url.password
        found.append(Database(url.database, url.username, url.password))
    return found


def local_cluster() -> LocalCluster:
    port = make_url(DEFAULT_ORDERS_DATABASE_URL).port or 5433
    return LocalCluster(_cluster_root(), port)


def _cluster_root() -> Path:
    # As root the server runs as 'postgres', which must be able to reach the data directory;
    # a checkout under a private home directory is not reachable, so use a temporary folder.
    root = RUN / "postgres"
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in root.parents if p.exists()):
        return root
    return Path(tempfile.gettempdir()) / "resilient-orders-postgres"


def uses_local_database(settings: Settings) -> bool:
    return (
        settings.orders_database_url == DEFAULT_ORDERS_DATABASE_URL
        and settings.inventory_database_url == DEFAULT_INVENTORY_DATABASE_URL
    )


def _pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def _running(name: str) -> int | None:
    try:
        pid = int(_pidfile(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return pid if processes.alive(pid) else None


def _start(name: str, command: list[str], ready_url: str | None, env: dict[str, str]) -> None:
    if _running(name):
        print(f"  {name}: already running (pid {_running(name)})")
        return
    proc = processes.start(command, RUN / "logs" / f"{name}.log", env)
    _pidfile(name).write_text(str(proc.pid))
    if ready_url:
        processes.wait_ready(ready_url, process=proc)
    print(f"  {name}: started (pid {proc.pid}), log .run/logs/{name}.log")


def prepare(settings: Settings) -> None:
    """Migrate both databases (as their owners) and add the demo products."""
    upgrade("orders", settings.owner_database_url("orders"))
    upgrade("inventory", settings.owner_database_url("inventory"))
    seed(settings)


def with_local_owners(settings: Settings) -> Settings:
    """The local cluster's owner roles run the migrations, unless owner URLs were given."""
    orders, inventory = local_databases()
    port = local_cluster().port
    return settings.replace(
        orders_owner_database_url=settings.orders_owner_database_url
        or orders.owner_url("127.0.0.1", port),
        inventory_owner_database_url=settings.inventory_owner_database_url
        or inventory.owner_url("127.0.0.1", port),
    )


def up() -> None:
    settings = load_settings()
    RUN.mkdir(exist_ok=True)
    if uses_local_database(settings):
        cluster = local_cluster()
        print(f"PostgreSQL: local cluster in {cluster.root} on 127.0.0.1:{cluster.port}")
        cluster.start()
        provision(cluster.admin_conninfo(), local_databases())
        settings = with_local_owners(settings)
    else:
        print("PostgreSQL: using ORDERS_DATABASE_URL and INVENTORY_DATABASE_URL")
    prepare(settings)
    admin = "created by: python -m order_service.accounts create-admin"
    if not settings.is_production:
        accounts, engine = build_accounts(settings)
        try:
            ensure_admin(accounts, settings.admin_email, settings.admin_password)
        finally:
            engine.dispose()
        admin = f"{settings.admin_email} / {settings.admin_password} (ADMIN_EMAIL, ADMIN_PASSWORD)"
    print("Services:")
    env = dict(os.environ)
    env.setdefault("CHAOS_ENABLED", "true" if not settings.is_production else "false")
    if not settings.is_production:
        # Every local client (curl, locust, the console) shares 127.0.0.1: per-address limits
        # sized for one person would throttle them all. Per-customer limits stay as they are.
        for variable in ("RATE_LIMIT_ORDERS_PER_ADDRESS", "RATE_LIMIT_AUTH_PER_ADDRESS"):
            env.setdefault(variable, LOCAL_ADDRESS_LIMIT)
    order_url = "http://" + settings.order_bind
    inventory_url = "http://" + settings.inventory_bind
    for name, url in (("inventory", inventory_url), ("orders", order_url)):
        # prometheus_client reads this before anything else: it must be set at process start.
        metrics_env = {
            **processes.own_database_only(env, name, settings),
            "PROMETHEUS_MULTIPROC_DIR": str(RUN / "metrics" / name),
        }
        _start(name, processes.gunicorn_command(name), url + "/health/ready", metrics_env)
    _start(
        "reconciler",
        [sys.executable, "-m", "order_service.reconciler"],
        None,
        processes.own_database_only(env, "orders", settings),
    )
    if not shutil.which("prometheus"):
        processes.apt_install("prometheus")
    prometheus = shutil.which("prometheus")
    if prometheus:
        _start(
            "prometheus",
            [
                prometheus,
                f"--config.file={processes.ROOT / 'monitoring/prometheus/prometheus.yml'}",
                f"--storage.tsdb.path={RUN / 'prometheus'}",
                "--web.listen-address=127.0.0.1:9090",
            ],
            "http://127.0.0.1:9090/-/ready",
            env,
        )
        watching = "Prometheus:        http://127.0.0.1:9090   (alerts at /alerts)"
    else:
        watching = "Prometheus:        not installed; run: sudo apt-get install prometheus"
    print(f"""
Order service:     {order_url}   (API docs {order_url}/docs)
Inventory service: {inventory_url}   (API docs {inventory_url}/docs)
{watching}
Metrics:           {order_url}/metrics {inventory_url}/metrics http://{settings.reconciler_metrics_bind}/metrics
Admin account:     {admin}

Try it (sign up, log in, order; the README has more):
  O={order_url}/api/v1; J='Content-Type: application/json'
  ME='{{"email": "me@example.com", "password": "my-password-1"}}'
  curl -s -X POST $O/auth/signup -H "$J" -d "$ME"
  TOKEN=$(curl -s -X POST $O/auth/login -H "$J" -d "$ME" | \\
          python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
  curl -s -X POST $O/orders -H "$J" -H "Authorization: Bearer $TOKEN" \\
       -H 'Idempotency-Key: demo-1' -d '{{"items": [{{"sku": "WIDGET-1", "quantity": 2}}]}}'
  curl -s {inventory_url}/api/v1/products/WIDGET-1
Stop everything with: make down""")


def down() -> None:
    for name in ("prometheus", "reconciler", "orders", "inventory"):
        pid = _running(name)
        if pid:
            processes.stop(pid)
            print(f"  {name}: stopped (pid {pid})")
        _pidfile(name).unlink(missing_ok=True)
    if uses_local_database(load_settings()):
        cluster = local_cluster()
        if cluster.initialised():
            cluster.stop()
            print("  PostgreSQL: stopped (data kept; `make clean` removes it)")


def status() -> None:
    for name in ("inventory", "orders", "reconciler", "prometheus"):
        pid = _running(name)
        print(f"  {name}: {f'running (pid {pid})' if pid else 'stopped'}")


def dsn(service: str) -> None:
    """Print a libpq URL for psql."""
    settings = load_settings()
    url = settings.database_url(service)
    print(make_url(url).set(drivername="postgresql").render_as_string(hide_password=False))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=["up", "down", "status", "prepare", "dsn"])
    parser.add_argument("service", nargs="?", choices=["orders", "inventory"], default="orders")
    args = parser.parse_args()
    if args.action == "dsn":
        dsn(args.service)
    elif args.action == "prepare":
        prepare(load_settings())
    else:
        {"up": up, "down": down, "status": status}[args.action]()


if __name__ == "__main__":
    main()
