"""Prometheus configuration and alert rules, checked and unit-tested with promtool."""

import shutil
import subprocess
from pathlib import Path

import pytest

PROMETHEUS = Path(__file__).resolve().parents[2] / "monitoring" / "prometheus"
pytestmark = pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (apt-get install prometheus)"
)


def promtool(*args):
    result = subprocess.run(["promtool", *args], cwd=PROMETHEUS, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.parametrize("config", ["prometheus.yml", "prometheus.docker.yml"])
def test_the_configurations_are_valid(config):
    assert "SUCCESS" in promtool("check", "config", config)


def test_the_alert_rules_are_valid():
    assert "11 rules found" in promtool("check", "rules", "alerts.yml")


def test_every_alert_behaves_as_its_unit_tests_say():
    assert "SUCCESS" in promtool("test", "rules", "tests/alerts_test.yml")


def test_every_alert_has_a_unit_test():
    import yaml

    rules = yaml.safe_load((PROMETHEUS / "alerts.yml").read_text())
    tests = yaml.safe_load((PROMETHEUS / "tests" / "alerts_test.yml").read_text())
    alerts = {r["alert"] for g in rules["groups"] for r in g["rules"]}
    tested = {t["alertname"] for case in tests["tests"] for t in case["alert_rule_test"]}
    assert alerts == tested
