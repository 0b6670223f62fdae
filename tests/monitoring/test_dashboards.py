"""Grafana cannot run here: the dashboard JSON and the provisioning are checked for structure."""

import json
from pathlib import Path

import yaml

GRAFANA = Path(__file__).resolve().parents[2] / "monitoring" / "grafana"
ALERTS = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus" / "alerts.yml"


def dashboards():
    return [json.loads(p.read_text()) for p in sorted((GRAFANA / "dashboards").glob("*.json"))]


def panels(dashboard):
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_the_datasource_and_the_dashboard_folder_are_provisioned():
    source = yaml.safe_load((GRAFANA / "provisioning/datasources/prometheus.yml").read_text())
    provider = yaml.safe_load((GRAFANA / "provisioning/dashboards/dashboards.yml").read_text())

    (datasource,) = source["datasources"]
    assert (datasource["type"], datasource["uid"]) == ("prometheus", "prometheus")
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"


def test_every_panel_queries_the_provisioned_prometheus():
    for dashboard in dashboards():
        assert dashboard["uid"] and dashboard["title"] and dashboard["schemaVersion"] >= 36
        ids = [p["id"] for p in dashboard["panels"]]
        assert len(ids) == len(set(ids))
        for panel in panels(dashboard):
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel[
                "title"
            ]
            assert panel["targets"] and all(t["expr"].strip() for t in panel["targets"])
            grid = panel["gridPos"]
            assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]


def test_panels_do_not_overlap():
    for dashboard in dashboards():
        taken = set()
        for panel in dashboard["panels"]:
            g = panel["gridPos"]
            cells = {
                (x, y)
                for x in range(g["x"], g["x"] + g["w"])
                for y in range(g["y"], g["y"] + g["h"])
            }
            assert not cells & taken, panel["title"]
            taken |= cells


def test_the_status_panel_is_green_below_one_second_and_red_above():
    (overview,) = [d for d in dashboards() if d["uid"] == "resilient-orders-overview"]
    status = panels(overview)[0]

    steps = status["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert status["type"] == "stat" and status["fieldConfig"]["defaults"]["unit"] == "s"
    assert steps == [{"color": "green", "value": None}, {"color": "red", "value": 1}]
    assert status["options"]["colorMode"] == "background"
    # The same measurement as the OrderServiceSlow alert, over the last 30 s.
    alert = next(
        r
        for g in yaml.safe_load(ALERTS.read_text())["groups"]
        for r in g["rules"]
        if r["alert"] == "OrderServiceSlow"
    )
    measured = " ".join(alert["expr"].split()).rsplit(" > ", 1)[0]
    panel = " ".join(status["targets"][0]["expr"].split())
    assert measured in panel.replace(', instance=~"$instance"', "")  # with every instance picked
    assert "[30s]" in measured


def test_the_overview_has_the_rows_operators_need():
    (overview,) = [d for d in dashboards() if d["uid"] == "resilient-orders-overview"]
    rows = [p["title"] for p in overview["panels"] if p["type"] == "row"]

    assert rows == [
        "Status",
        "Orders service: rate, errors, duration",
        "Inventory service: rate, errors, duration",
        "Resilience: order service to inventory",
        "Stock",
        "Gremlins",
        "Audit",
        "Payments",
    ]
    annotations = [a for a in overview["annotations"]["list"] if a.get("expr")]
    assert annotations and "chaos_gremlin_injections_total" in annotations[0]["expr"]
