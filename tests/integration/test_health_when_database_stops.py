"""Readiness follows the own database: stop it, and /health/ready says 503 with the reason."""

import pytest

from inventory_service.app import create_app
from lab.postgres import Database, LocalCluster, free_port, provision, scratch_dir
from shared.config import Settings


@pytest.fixture
def own_cluster():
    cluster = LocalCluster(scratch_dir("health-pg-"), free_port(), fast=True)
    cluster.start()
    yield cluster
    cluster.stop()


def test_ready_goes_503_while_the_database_is_down_and_recovers(own_cluster):
    db = Database("inventory_h", "inventory_h", "pw-h")
    provision(own_cluster.admin_conninfo(), [db])
    app = create_app(
        Settings(
            app_env="test",
            log_level="WARNING",
            inventory_database_url=db.url("127.0.0.1", own_cluster.port),
        )
    )
    client = app.test_client()
    assert client.get("/health/ready").status_code == 200

    own_cluster.stop()
    down = client.get("/health/ready")
    full = client.get("/health")
    live = client.get("/health/live")
    own_cluster.start()
    back = client.get("/health/ready")
    app.extensions["engine"].dispose()

    assert down.status_code == 503
    assert down.get_json()["checks"]["database"]["status"] == "down"
    assert (full.status_code, full.get_json()["status"]) == (503, "down")
    assert live.status_code == 200
    assert back.status_code == 200
