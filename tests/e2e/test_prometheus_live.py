"""A real Prometheus scrapes the running system and answers every dashboard and alert query."""

import json
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml

from console.status import prometheus_average
from lab.postgres import free_port
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    shutil.which("prometheus") is None,
    reason="prometheus not installed (apt-get install prometheus)",
)


@pytest.fixture
def prometheus(live, tmp_path):
    ports = {
        "orders": live.order_port,
        "inventory": live.inventory_port,
        "reconciler": live.reconciler_metrics_port,
    }
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ROOT / "monitoring/prometheus/alerts.yml")],
        "scrape_configs": [
            {"job_name": job, "static_configs": [{"targets": [f"127.0.0.1:{p}"]}]}
            for job, p in ports.items()
        ],
    }
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            "prometheus",
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: requests.get(f"{url}/-/ready", timeout=1).status_code == 200)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def wait_for(check, timeout_s=60.0):
    """Poll ``check``; a refused connection while Prometheus starts counts as not yet."""

    def attempt():
        try:
            return check()
        except requests.RequestException:
            return False

    wait_until(attempt, timeout_s=timeout_s, poll_s=0.5)


def query(url, expr):
    response = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert response["status"] == "success", (expr, response)
    return response["data"]["result"]


def traffic(live):
    """Orders confirmed and rejected, one retry and one gremlin firing."""
    live.create_product("LIVE-1", 50)
    live.create_product("LIVE-2", 1)
    auth = {"Authorization": f"Bearer {live.settings.admin_token}"}
    chaos = live.inventory.removesuffix("/api/v1") + "/chaos/once"
    live.http.put(
        chaos, headers=auth, json={"kind": "error", "status": 503, "fail_next": 1, "method": "PUT"}
    ).raise_for_status()
    for i in range(10):
        live.place(f"c{i}", [("LIVE-1", 1)])
    live.place("c", [("LIVE-2", 5)])


def dashboard_queries():
    found = []
    for path in sorted((ROOT / "monitoring/grafana/dashboards").glob("*.json")):
        for panel in json.loads(path.read_text())["panels"]:
            for target in panel.get("targets", []):
                # Grafana fills the instance picker; "All" is any instance.
                found.append((panel["title"], target["expr"].replace("$instance", ".*")))
    return found


def test_every_dashboard_query_returns_data_and_every_alert_rule_loads(live, prometheus):
    traffic(live)
    wait_for(lambda: len(query(prometheus, "up == 1")) == 3)
    # Rates need two scrapes in their window: poll until every panel has data, traffic flowing.
    missing = dashboard_queries()
    deadline = time.monotonic() + 90
    while missing and time.monotonic() < deadline:
        traffic_tick(live)
        missing = [(title, expr) for title, expr in missing if not query(prometheus, expr)]
        time.sleep(0.5)
    assert missing == []

    groups = requests.get(f"{prometheus}/api/v1/rules", timeout=5).json()["data"]["groups"]
    rules = [r for g in groups for r in g["rules"]]
    written = yaml.safe_load((ROOT / "monitoring/prometheus/alerts.yml").read_text())
    expected = sum(len(g["rules"]) for g in written["groups"])
    assert len(rules) == expected and all(r["health"] == "ok" for r in rules), rules
    for rule in rules:
        for metric in set(re.findall(r"\b([a-z_]+)(?=\{|\[|\))", rule["query"])) - {
            "rate",
            "sum",
            "max",
            "deriv",
            "by",
            "and",
            "or",
        }:
            assert query(prometheus, f"count({metric})"), (rule["name"], metric)


def traffic_tick(live):
    live.place("tick", [("LIVE-1", 1)])


def test_the_consoles_latency_light_reads_the_order_apis_average_from_prometheus(live, prometheus):
    traffic(live)
    session = requests.Session()
    # The first answer needs two scrapes of fresh traffic in the 30 s window: poll with traffic.
    average = None
    deadline = time.monotonic() + 90
    while average is None and time.monotonic() < deadline:
        traffic_tick(live)
        average = prometheus_average(prometheus, session)
        time.sleep(0.5)
    assert average is not None and average > 0
