"""docker compose cannot run here: docker-compose.yml is checked against the Compose
specification and kept in step with what `make up` runs."""

import json
import re
from pathlib import Path

import yaml
from compose_spec import PyCompose

from shared.config import _VARIABLES

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_file_follows_the_compose_specification():
    # yaml resolves the anchors and merge keys as docker compose does; the parser validates.
    parsed = PyCompose.from_json(json.dumps(compose()))

    assert set(parsed.service_names()) == {
        "orders-db",
        "inventory-db",
        "prepare",
        "inventory",
        "orders",
        "reconciler",
        "prometheus",
        "grafana",
    }


def test_the_services_publish_the_ports_of_the_design():
    services = compose()["services"]
    ports = {name: s.get("ports") for name, s in services.items() if s.get("ports")}

    assert ports == {
        "orders": ["3001:3001"],
        "inventory": ["3002:3002"],
        "reconciler": ["3003:3003"],
        "prometheus": ["9090:9090"],
        "grafana": ["3000:3000"],
    }


def test_each_service_has_its_own_database_and_credentials():
    services = compose()["services"]
    env = services["orders"]["environment"]

    assert "@orders-db:5432/orders" in env["ORDERS_DATABASE_URL"]
    assert "@inventory-db:5432/inventory" in env["INVENTORY_DATABASE_URL"]
    assert services["orders-db"]["environment"]["POSTGRES_USER"] == "orders"
    assert services["inventory-db"]["environment"]["POSTGRES_USER"] == "inventory"
    assert services["orders-db"]["volumes"] != services["inventory-db"]["volumes"]


def test_start_order_follows_health_and_every_long_running_service_has_a_check():
    services = compose()["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, (name, dependency)
            assert condition["condition"] in {"service_healthy", "service_completed_successfully"}
        if name != "prepare":
            assert service.get("healthcheck", {}).get("test"), name


def test_every_variable_the_apps_get_is_one_the_configuration_reads():
    services = compose()["services"]
    known = set(_VARIABLES) | {"PROMETHEUS_MULTIPROC_DIR"}
    for name in ("prepare", "inventory", "orders", "reconciler"):
        assert set(services[name]["environment"]) <= known, name


def test_gunicorn_services_share_metrics_through_a_directory():
    services = compose()["services"]

    assert services["orders"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert services["inventory"]["environment"]["PROMETHEUS_MULTIPROC_DIR"]
    assert "PROMETHEUS_MULTIPROC_DIR" not in services["reconciler"]["environment"]


def test_monitoring_is_mounted_from_the_repository():
    services = compose()["services"]
    mounts = services["prometheus"]["volumes"] + services["grafana"]["volumes"]

    for mount in mounts:
        source = mount.split(":")[0]
        if source.startswith("./"):
            assert (ROOT / source).exists(), source


def test_the_image_runs_as_a_user_with_a_health_check():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^USER app$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile and "slim" in dockerfile
