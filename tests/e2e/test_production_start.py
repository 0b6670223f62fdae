"""Production mode on real gunicorn processes: a complete configuration starts and serves, and a
process left with a development default refuses to start, naming the setting."""

import os

import pytest
import requests

from lab import processes
from lab.postgres import Database, free_port, provision
from shared.migrate import upgrade
from tests.unit.test_production_mode import SAFE_PRODUCTION, SECRET

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def production_databases(postgres):
    dbs = [Database("orders_prod", "orders_prod", SECRET), Database("inv_prod", "inv_prod", SECRET)]
    provision(postgres.admin_conninfo, dbs)
    upgrade("orders", dbs[0].owner_url(postgres.host, postgres.port))
    upgrade("inventory", dbs[1].owner_url(postgres.host, postgres.port))
    return {
        "ORDERS_DATABASE_URL": dbs[0].url(postgres.host, postgres.port),
        "INVENTORY_DATABASE_URL": dbs[1].url(postgres.host, postgres.port),
    }


def production_env(service, port, inventory_port, databases, tmp_path):
    base = {k: v for k, v in os.environ.items() if not k.endswith("DATABASE_URL")}
    url = f"{service.upper()}_DATABASE_URL"
    secrets = {k: v for k, v in SAFE_PRODUCTION.items() if not k.endswith("DATABASE_URL")}
    return {
        **base,
        **secrets,
        url: databases[url],
        f"{'ORDER' if service == 'orders' else 'INVENTORY'}_BIND": f"127.0.0.1:{port}",
        "INVENTORY_URL": f"http://127.0.0.1:{inventory_port}",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / f"metrics-{service}"),
    }


def test_a_complete_production_configuration_starts_and_serves(production_databases, tmp_path):
    ports = {"inventory": free_port(), "orders": free_port()}
    started = []
    try:
        for service in ("inventory", "orders"):
            env = production_env(
                service, ports[service], ports["inventory"], production_databases, tmp_path
            )
            proc = processes.start(
                processes.gunicorn_command(service), tmp_path / f"{service}.log", env
            )
            started.append(proc)
            processes.wait_ready(f"http://127.0.0.1:{ports[service]}/health/ready", process=proc)
        orders = f"http://127.0.0.1:{ports['orders']}/api/v1"
        me = {"email": "prod-user@example.com", "password": "a-long-enough-password"}
        assert requests.post(f"{orders}/auth/signup", json=me, timeout=10).status_code == 201
        token = requests.post(f"{orders}/auth/login", json=me, timeout=10).json()["access_token"]
        placed = requests.post(
            f"{orders}/orders",
            json={"items": [{"sku": "NONE-1", "quantity": 1}]},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        # Inventory answered (with the order service's own token): a definite rejection.
        assert placed.status_code == 422 and placed.json()["error"]["code"] == "UNKNOWN_SKU"
        chaos = requests.put(
            f"http://127.0.0.1:{ports['inventory']}/chaos/x",
            json={"kind": "error"},
            headers={"Authorization": f"Bearer {SECRET}"},
            timeout=10,
        )
        assert chaos.status_code == 403  # chaos stays off in production
    finally:
        for proc in started:
            proc.terminate()
            proc.wait(timeout=30)


def test_a_process_with_a_development_default_refuses_to_start(production_databases, tmp_path):
    port = free_port()
    env = {
        **production_env("inventory", port, port, production_databases, tmp_path),
        "ADMIN_TOKEN": "dev-admin-token",
    }
    proc = processes.start(processes.gunicorn_command("inventory"), tmp_path / "refused.log", env)
    try:
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
    log = (tmp_path / "refused.log").read_text()
    assert "APP_ENV=production refuses to start" in log and "ADMIN_TOKEN" in log
