"""docker compose cannot run here: docker-compose.yml is checked against the Compose
specification and kept in step with what `make up` runs."""

import json
import re
from pathlib import Path

import pytest
import yaml
from compose_spec import PyCompose

from shared.config import VARIABLES, ConfigError, load_settings
from tests.unit.test_production_mode import SAFE_PRODUCTION

ROOT = Path(__file__).resolve().parents[2]


def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_file_follows_the_compose_specification():
    # yaml resolves the anchors and merge keys and the variables are filled in, as docker
    # compose does before it validates; the parser validates.
    parsed = PyCompose.from_json(json.dumps(document({})))

    assert set(parsed.service_names()) == {
        "orders-db",
        "inventory-db",
        "prepare",
        "inventory",
        "orders",
        "reconciler",
        "prometheus",
        "grafana",
        "console",
        "redis",
        "edge",
        "payments-db",
        "payments",
    }


def test_the_services_publish_the_ports_of_the_design_on_this_machine_only():
    services = interpolated({})
    ports = {name: s.get("ports") for name, s in services.items() if s.get("ports")}

    # The public ports are the edge's: no client reaches a gunicorn without HAProxy in between.
    # The development defaults (chaos on, published keys) are never reachable from elsewhere.
    local = "127.0.0.1"
    assert ports == {
        "edge": [
            f"{local}:3001:3001",
            f"{local}:3002:3002",
            f"{local}:8080:8080",
            f"{local}:8405:8405",
        ],
        "reconciler": [f"{local}:3003:3003"],
        # The provider stand-in is outside the system, as a hosted one is: its pay page must be
        # reachable by the customer's browser.
        "payments": [f"{local}:3004:3004"],
        "prometheus": [f"{local}:9090:9090"],
        "grafana": [f"{local}:3000:3000"],
    }
    published = interpolated({"PUBLISH_ADDRESS": "0.0.0.0"})["edge"]["ports"]
    assert published[0] == "0.0.0.0:3001:3001"


def document(environ):
    """docker-compose.yml as docker compose reads it with ``environ``: ${VAR:-default}, ${VAR}."""

    def value(match):
        name, default = match.group(1), match.group(3) or ""
        return environ.get(name) or default

    raw = re.sub(r"\$\{(\w+)(:-([^}]*))?\}", value, (ROOT / "docker-compose.yml").read_text())
    return yaml.safe_load(raw)


def interpolated(environ):
    return document(environ)["services"]


APPS = ("prepare", "inventory", "orders", "reconciler", "console")


def env_of(service):
    """The environment a container gets: YAML's true/false arrive as the text "true"/"false"."""
    return {
        k: str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in service["environment"].items()
    }


REAL = "r" * 40
REAL_SECRETS = {
    "APP_ENV": "production",
    "CHAOS_ENABLED": "false",
    **{
        name: REAL
        for name in (
            "ADMIN_TOKEN",
            "ADMIN_PASSWORD",
            "ORDERS_DB_PASSWORD",
            "INVENTORY_DB_PASSWORD",
            "ORDERS_DB_OWNER_PASSWORD",
            "INVENTORY_DB_OWNER_PASSWORD",
            "GRAFANA_ADMIN_PASSWORD",
            "POSTGRES_SUPERUSER_PASSWORD",
            "CONSOLE_SECRET_KEY",
            "CONSOLE_FORWARD_KEY",
            "PAYMENTS_API_KEY",
            "PAYMENT_WEBHOOK_SECRETS",
            "PAYMENTS_DB_PASSWORD",
            "PAYMENTS_DB_OWNER_PASSWORD",
        )
    },
    # One line each, as in a .env file: the configuration turns "\\n" back into newlines.
    "AUTH_SIGNING_KEY": SAFE_PRODUCTION["AUTH_SIGNING_KEY"].replace("\n", "\\n"),
    "AUTH_VERIFY_KEY": SAFE_PRODUCTION["AUTH_VERIFY_KEY"].replace("\n", "\\n"),
}


def test_each_process_receives_only_its_own_runtime_database_url():
    services = interpolated({})
    urls = {
        name: sorted(k for k in services[name]["environment"] if k.endswith("DATABASE_URL"))
        for name in APPS
    }

    assert urls["orders"] == urls["reconciler"] == ["ORDERS_DATABASE_URL"]
    assert urls["inventory"] == ["INVENTORY_DATABASE_URL"]
    assert urls["console"] == []  # the console uses the public APIs only
    # Only the one-shot migration step holds the owners' URLs.
    assert "ORDERS_OWNER_DATABASE_URL" in urls["prepare"]
    assert "INVENTORY_OWNER_DATABASE_URL" in urls["prepare"]


def test_the_superuser_stays_inside_the_database_containers():
    services = interpolated({})
    for db, service in (("orders-db", "orders"), ("inventory-db", "inventory")):
        env = services[db]["environment"]
        assert env["POSTGRES_USER"] == "postgres" and env["SERVICE_DB"] == service
        assert any(
            "init-roles.sh:/docker-entrypoint-initdb.d/" in v for v in services[db]["volumes"]
        )
        for name in APPS:
            assert "postgres:" not in str(services[name]["environment"]), name
    assert services["orders-db"]["volumes"] != services["inventory-db"]["volumes"]


def test_the_development_defaults_start_as_they_are():
    services = interpolated({})
    for name in APPS:
        settings = load_settings(env_of(services[name]))
        assert settings.chaos_enabled and not settings.is_production, name


def test_production_with_the_defaults_refuses_in_every_process():
    services = interpolated({"APP_ENV": "production"})
    for name in APPS:
        with pytest.raises(ConfigError, match="ADMIN_TOKEN"):
            load_settings(env_of(services[name]))


def test_production_refuses_grafanas_default_password():
    services = interpolated({**REAL_SECRETS, "GRAFANA_ADMIN_PASSWORD": ""})

    with pytest.raises(ConfigError, match="GRAFANA_ADMIN_PASSWORD"):
        load_settings(env_of(services["prepare"]))


def test_production_with_real_secrets_loads_and_each_process_finds_its_database():
    services = interpolated(REAL_SECRETS)
    for name, service in (("prepare", "orders"), ("inventory", "inventory"), ("orders", "orders")):
        settings = load_settings(env_of(services[name]))
        assert settings.is_production and REAL in settings.database_url(service)
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == REAL
    assert load_settings(env_of(services["console"])).console_secret() == REAL


def test_production_refuses_the_consoles_default_secret():
    services = interpolated({**REAL_SECRETS, "CONSOLE_SECRET_KEY": ""})

    with pytest.raises(ConfigError, match="CONSOLE_SECRET_KEY"):
        load_settings(env_of(services["console"])).console_secret()


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
    known = VARIABLES
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
