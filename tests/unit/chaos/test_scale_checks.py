"""The checks the scale scenarios add: two reconcilers at once, and the load balancer's config."""

import json
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from lab import haproxy
from lab.invariants import Observed, concurrent_deliveries, no_server_errors

T0 = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
PATH = "/api/v1/reservations/0b6c4e0e-3d4c-4b43-9a55-6a0d1c2b9f10"


def access_line(agent, started_s, duration_ms, path=PATH, method="PUT"):
    ended = T0 + timedelta(seconds=started_s, milliseconds=duration_ms)
    line = {
        "ts": ended.isoformat(timespec="milliseconds"),
        "logger": "access",
        "msg": "request",
        "method": method,
        "path": path,
        "duration_ms": duration_ms,
        "agent": agent,
    }
    return json.dumps(line)


def test_one_command_sent_by_two_reconcilers_at_once_is_found():
    lines = [access_line("reconciler/h-1", 0, 2000), access_line("reconciler/h-2", 1.5, 100)]

    found = concurrent_deliveries(lines)

    assert found == [f"PUT {PATH} sent by reconciler/h-2 and reconciler/h-1 at once"]


def test_one_after_the_other_a_hedge_or_another_command_is_not_at_once():
    lines = [
        access_line("reconciler/h-1", 0, 1000),
        access_line("reconciler/h-1", 0.5, 1000),  # its own hedged copy
        access_line("reconciler/h-2", 2, 100),  # after the first ended
        access_line("reconciler/h-1", 2, 100, path=PATH + "/release", method="POST"),
        access_line("order-service", 2, 100),  # a request thread is not a reconciler
    ]
    assert concurrent_deliveries(lines) == []


def test_only_the_5xx_a_scenario_explains_are_allowed():
    observed = Observed()
    observed.record("k-1", 502, {"error": {"code": "BAD_GATEWAY"}})
    observed.record("k-2", 500, {"error": {"code": "INTERNAL_ERROR"}})

    assert no_server_errors(observed, {"BAD_GATEWAY"}) == [
        "order service answered 5xx {'INTERNAL_ERROR': 1}"
    ]


@pytest.mark.skipif(shutil.which("haproxy") is None, reason="haproxy not installed")
def test_the_load_balancer_config_is_valid_and_says_what_the_docs_say(tmp_path):
    frontends = [
        haproxy.Frontend("orders", "127.0.0.1:3001", {"orders": "127.0.0.1:3101"}),
        haproxy.Frontend("inventory", "127.0.0.1:3002", {"inventory": "127.0.0.1:3102"}),
    ]
    config = tmp_path / "haproxy.cfg"
    config.write_text(haproxy.render(frontends, "127.0.0.1:8405", tmp_path / "errors"))

    checked = subprocess.run(["haproxy", "-c", "-f", str(config)], capture_output=True, text=True)

    assert checked.returncode == 0, checked.stderr
    text = config.read_text()
    assert "retry-on conn-failure" in text  # only requests that never reached a server
    assert "option httpchk GET /health/ready" in text
    assert "timeout http-request 10s" in text and "option http-buffer-request" in text
    page = (tmp_path / "errors" / "503.http").read_bytes().decode()
    assert json.loads(page.split("\r\n\r\n", 1)[1])["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "Retry-After: 1" in page
