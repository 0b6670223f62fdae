"""Run the whole system locally: ``python -m lab.stack up|down|status``.

``up`` provisions a local PostgreSQL when the database URLs are the defaults, migrates both
databases, adds demo products, and starts both services (and the reconciler) in the background.
Running it twice is harmless: what already runs is left alone. ``down`` stops what ``up`` started.

HAProxy always stands on the usual ports in front of both services and the console, which
listen on internal ones: it reads each request whole before a worker sees it and limits
connections per client address (docs/overload.md). Redis always holds the rate limits and the
breaker, so every worker of every instance counts together.

``ORDER_INSTANCES=N INVENTORY_INSTANCES=M`` (default 1 each) start N and M gunicorns behind it,
and two reconcilers (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from inventory_service.demo import seed
from lab import haproxy, processes, redis_server
from lab.postgres import Database, LocalCluster, provision
from lab.system import Layout, service_of
from order_service.accounts import ensure_admin
from order_service.bootstrap import build_accounts
from shared.config import (
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDERS_DATABASE_URL,
    DEFAULT_PAYMENTS_DATABASE_URL,
    Settings,
    load_settings,
)
from shared.migrate import upgrade

RUN = processes.ROOT / ".run"
LOCAL_ADDRESS_LIMIT = "200/second"
# Instance i of a service listens on its base + i, HAProxy on the usual ports.
INSTANCE_PORTS = {"orders": 3100, "inventory": 3200, "console": 3300}
AGENT_PORT = 3150  # the order instances' agents: 3151, 3152, ...
HAPROXY_METRICS = "127.0.0.1:8405"
LOCAL_REDIS_PORT = 6390
TARGETS = RUN / "prometheus-targets"


def layout_from_env() -> Layout:
    """``ORDER_INSTANCES`` and ``INVENTORY_INSTANCES``; two reconcilers once either is above 1."""
    counts = {}
    for service, variable in (("orders", "ORDER_INSTANCES"), ("inventory", "INVENTORY_INSTANCES")):
        raw = os.environ.get(variable, "1")
        if not raw.isdigit() or not 1 <= int(raw) <= 16:
            raise SystemExit(f"{variable} must be a whole number from 1 to 16, got {raw!r}")
        counts[service] = int(raw)
    scaled = counts["orders"] > 1 or counts["inventory"] > 1
    return Layout(counts["orders"], counts["inventory"], 2 if scaled else 1)


def local_databases() -> list[Database]:
    """The default URLs' databases, which ``up`` creates in the local cluster."""
    found = []
    for raw in (DEFAULT_ORDERS_DATABASE_URL, DEFAULT_INVENTORY_DATABASE_URL):
        url = make_url(raw)
        assert url.database and url.username and url.password
        found.append(Database(url.database, url.username, url.password))
    return found


def provider_database() -> Database:
    """The payment provider stand-in's database: its default URL is its owner's."""
    url = make_url(DEFAULT_PAYMENTS_DATABASE_URL)
    assert url.database and url.username and url.password
    return Database(
        url.database, url.username.removesuffix("_owner"), url.password.removesuffix("-owner")
    )


def local_cluster() -> LocalCluster:
    """The cluster ``up`` runs, archiving its WAL for point-in-time restores (docs/backups.md)."""
    port = make_url(DEFAULT_ORDERS_DATABASE_URL).port or 5433
    archive = Path(load_settings().backup_dir or backup_root()) / "wal"
    return LocalCluster(_cluster_root(), port, archive=archive)


def _cluster_root() -> Path:
    # As root the server runs as 'postgres', which must be able to reach the data directory;
    # a checkout under a private home directory is not reachable, so use a temporary folder.
    root = RUN / "postgres"
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in root.parents if p.exists()):
        return root
    return Path(tempfile.gettempdir()) / "resilient-orders-postgres"


def backup_root() -> Path:
    """Where ``make backup`` keeps base backups and the WAL archive (``BACKUP_DIR`` overrides):
    beside the cluster, where its server user can write."""
    cluster = _cluster_root()
    return cluster.parent / (
        "backups" if cluster == RUN / "postgres" else f"{cluster.name}-backups"
    )


def uses_local_database(settings: Settings) -> bool:
    return (
        settings.orders_database_url == DEFAULT_ORDERS_DATABASE_URL
        and settings.inventory_database_url == DEFAULT_INVENTORY_DATABASE_URL
    )


def _pidfile(name: str) -> Path:
    return RUN / f"{name}.pid"


def _running(name: str) -> int | None:
    """The pid of the process ``up`` started as ``name``, if that very process still runs.

    The pid file keeps the pid and the process's start time: a pid the system gave to another
    process since is not ours, and is never signalled."""
    try:
        pid, started = _pidfile(name).read_text().split()
    except (FileNotFoundError, ValueError):
        return None
    return int(pid) if processes.started_at(int(pid)) == started else None


def _start(name: str, command: list[str], ready_url: str | None, env: dict[str, str]) -> None:
    if _running(name):
        print(f"  {name}: already running (pid {_running(name)})")
        return
    proc = processes.start(command, RUN / "logs" / f"{name}.log", env)
    _pidfile(name).write_text(f"{proc.pid} {processes.started_at(proc.pid)}")
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
        provision(cluster.admin_conninfo(), [*local_databases(), provider_database()])
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
    layout = layout_from_env()
    env.setdefault("REDIS_URL", _start_redis())
    env["INVENTORY_URL"] = inventory_url  # through HAProxy, like every other client
    # HAProxy on this machine is the only proxy whose X-Forwarded-For the services believe; the
    # console names each browser to the order service with a key only the two hold.
    env.setdefault("TRUSTED_PROXIES", "127.0.0.1")
    if not settings.is_production:
        env.setdefault("CONSOLE_FORWARD_KEY", _forward_key())
    binds, agents = _binds(layout, settings), _agents(layout)
    if not settings.is_production:  # production names its provider (PAYMENTS_URL)
        _start_provider(env, settings)
        env.setdefault("PAYMENTS_URL", "http://" + settings.payments_provider_bind)
    for name in layout.instances("inventory") + layout.instances("orders"):
        service = service_of(name)
        bind = binds[name]
        # prometheus_client reads this before anything else: it must be set at process start.
        metrics_env = {
            **processes.own_database_only(env, service, settings),
            "PROMETHEUS_MULTIPROC_DIR": str(RUN / "metrics" / name),
            "ORDER_BIND" if service == "orders" else "INVENTORY_BIND": bind,
        }
        if name in agents:
            metrics_env["FRONT_AGENT_BIND"] = f"127.0.0.1:{agents[name]}"
        ready = f"http://{bind}/health/ready"
        _start(name, processes.gunicorn_command(service), ready, metrics_env)
    _start_console(env, settings, binds["console"])
    _start_haproxy(layout, settings, binds, agents)
    for name in layout.instances("reconciler"):
        reconciler_env = processes.own_database_only(env, "orders", settings)
        reconciler_env["RECONCILER_METRICS_BIND"] = binds[name]
        _start(name, [sys.executable, "-m", "order_service.reconciler"], None, reconciler_env)
    _write_targets(layout, binds)
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
        env.setdefault("PROMETHEUS_URL", "http://127.0.0.1:9090")
    else:
        watching = "Prometheus:        not installed; run: sudo apt-get install prometheus"
    console_url = "http://" + settings.console_bind
    print(f"""
Console:           {console_url}   (log in as the admin below, or sign up)
Order service:     {order_url}   (API docs {order_url}/docs)
Inventory service: {inventory_url}   (API docs {inventory_url}/docs)
Payment provider:  http://{settings.payments_provider_bind}   (a stand-in for a hosted one)
{watching}
Metrics:           {order_url}/metrics {inventory_url}/metrics http://{settings.reconciler_metrics_bind}/metrics
{_front_note(layout)}Admin account:     {admin}

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


def _forward_key() -> str:
    """The console's key for naming browsers to the order service: made once, kept in .run/,
    so a service ``up`` starts again later (a restore) shares it with the running console."""
    kept = RUN / "console-forward-key"
    if not kept.exists():
        kept.touch(mode=0o600)
        kept.write_text(secrets.token_urlsafe(32))
    return kept.read_text().strip()


def _start_provider(env: dict[str, str], settings: Settings) -> None:
    """The payment provider stand-in, with its own database and no other; its webhooks go to
    the order service through HAProxy, as a provider's come from outside."""
    provider_env = {
        **processes.without_databases(env),
        "PAYMENTS_PROVIDER_DATABASE_URL": settings.payments_provider_database_url,
        "PAYMENT_WEBHOOK_URL": f"http://{settings.order_bind}/api/v1/payments/webhook",
    }
    bind = settings.payments_provider_bind
    ready = f"http://{bind}/health/ready"
    _start("payments", processes.gunicorn_command("payments"), ready, provider_env)


def _start_console(env: dict[str, str], settings: Settings, bind: str) -> None:
    """The web console on an internal port, on the public APIs (through HAProxy) and
    Prometheus."""
    console_env = {
        **processes.without_databases(env),
        "ORDER_URL": "http://" + settings.order_bind,
        "INVENTORY_URL": "http://" + settings.inventory_bind,
        "CONSOLE_BIND": bind,
    }
    _start("console", processes.gunicorn_command("console"), f"http://{bind}/login", console_env)


def _binds(layout: Layout, settings: Settings) -> dict[str, str]:
    """Where each process listens: every service instance on an internal port (HAProxy takes
    the usual ones); the reconcilers' metrics from the usual port on."""
    host, _, metrics_port = settings.reconciler_metrics_bind.rpartition(":")
    binds = {
        name: f"{host}:{int(metrics_port) + i * 10}"
        for i, name in enumerate(layout.instances("reconciler"))
    }
    for service in ("orders", "inventory"):
        for i, name in enumerate(layout.instances(service)):
            binds[name] = f"127.0.0.1:{INSTANCE_PORTS[service] + i + 1}"
    binds["console"] = f"127.0.0.1:{INSTANCE_PORTS['console'] + 1}"
    return binds


def _start_redis() -> str:
    port = LOCAL_REDIS_PORT
    _start("redis", redis_server.command(port, RUN / "redis"), None, dict(os.environ))
    url = f"redis://127.0.0.1:{port}/0"
    redis_server.wait_ready(url)
    return url


def _agents(layout: Layout) -> dict[str, int]:
    """Where each order instance's master answers HAProxy's agent check (shared.front_agent)."""
    return {name: AGENT_PORT + i + 1 for i, name in enumerate(layout.instances("orders"))}


def _start_haproxy(
    layout: Layout, settings: Settings, binds: dict[str, str], agents: dict[str, int]
) -> None:
    frontends = [
        haproxy.Frontend(
            service,
            settings.order_bind if service == "orders" else settings.inventory_bind,
            {name: binds[name] for name in layout.instances(service)},
            capacity=haproxy.capacity(settings.layout(service)),
            agents=agents if service == "orders" else {},
        )
        for service in ("orders", "inventory")
    ]
    frontends.append(
        haproxy.Frontend(
            "console", settings.console_bind, {"console": binds["console"]}, check_path="/login"
        )
    )
    config = RUN / "haproxy.cfg"
    config.write_text(haproxy.render(frontends, HAPROXY_METRICS, RUN / "haproxy-errors"))
    ready = "http://" + settings.order_bind + "/health/ready"
    _start("haproxy", haproxy.command(config), ready, dict(os.environ))
    processes.wait_ready(f"http://{settings.console_bind}/login")


def _write_targets(layout: Layout, binds: dict[str, str]) -> None:
    """Prometheus' file service discovery: every instance, labelled with its service (job)."""
    TARGETS.mkdir(parents=True, exist_ok=True)
    groups = [
        {"targets": [binds[name] for name in layout.instances(service)], "labels": {"job": service}}
        for service in ("orders", "inventory", "reconciler")
    ]
    groups.append({"targets": [HAPROXY_METRICS], "labels": {"job": "haproxy"}})
    (TARGETS / "local.json").write_text(json.dumps(groups, indent=2) + "\n")


def _front_note(layout: Layout) -> str:
    return (
        f"Instances:         {layout.orders} order, {layout.inventory} inventory, "
        f"{layout.reconcilers} reconciler(s), behind HAProxy "
        f"(metrics http://{HAPROXY_METRICS}/metrics), Redis for limits and the breaker\n"
    )


def _pidfiles() -> list[str]:
    """Every process ``up`` started, by name, from its pid file."""
    return sorted(p.stem for p in RUN.glob("*.pid"))


# The order ``up`` starts them in; ``down`` stops them the other way round, so nothing loses
# what it needs while it drains.
_START_ORDER = [
    "redis",
    "payments",
    "inventory",
    "orders",
    "console",
    "haproxy",
    "reconciler",
    "prometheus",
]


def _in_start_order(names: list[str]) -> list[str]:
    return sorted(names, key=lambda n: (_START_ORDER.index(service_of(n)), len(n), n))


def down() -> None:
    names = list(reversed(_in_start_order(_pidfiles())))
    for name in names:
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


def stop_service(service: str) -> list[str]:
    """Stop every process of one service ("orders": its reconcilers too); the names stopped."""
    owned = {"orders": ("orders", "reconciler"), "inventory": ("inventory",)}[service]
    stopped = []
    for name in reversed(_in_start_order(_pidfiles())):
        pid = _running(name)
        if service_of(name) in owned and pid:
            processes.stop(pid)
            _pidfile(name).unlink(missing_ok=True)
            print(f"  {name}: stopped (pid {pid})")
            stopped.append(name)
    return stopped


def status() -> None:
    names = _pidfiles() or [
        "payments",
        "inventory",
        "orders",
        "reconciler",
        "prometheus",
        "console",
    ]
    for name in _in_start_order(names):
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
