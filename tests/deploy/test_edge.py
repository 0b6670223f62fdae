"""The buffering front of the containerised layouts: deploy/haproxy (compose) and
deploy/kubernetes/base/edge are what lab/haproxy.py renders, and HAProxy accepts them."""

import shutil
import subprocess
from pathlib import Path

import pytest

from lab import haproxy

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("kept", [haproxy.COMPOSE, haproxy.KUBERNETES], ids=["compose", "k8s"])
def test_the_kept_configuration_is_the_rendered_one_and_haproxy_accepts_it(kept, tmp_path):
    rendered = haproxy.deployed(tmp_path)[kept / "haproxy.cfg"]
    assert (ROOT / kept / "haproxy.cfg").read_text() == haproxy.GENERATED + rendered
    for page in sorted((tmp_path / kept / "errors").iterdir()):
        assert (ROOT / kept / "errors" / page.name).read_text() == page.read_text()

    if shutil.which("haproxy") is None:
        pytest.skip("haproxy is not installed")
    local = rendered.replace(str(haproxy.IN_CONTAINER), str(tmp_path / kept / "errors"))
    config = tmp_path / "check.cfg"
    config.write_text(local)
    # The services' names do not resolve here: HAProxy warns and starts them down (init-addr).
    checked = subprocess.run([haproxy.binary(), "-c", "-f", str(config)], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()


def test_every_public_frontend_buffers_requests_and_limits_each_source():
    for kept in (haproxy.COMPOSE, haproxy.KUBERNETES):
        text = (ROOT / kept / "haproxy.cfg").read_text()
        assert "option http-buffer-request" in text and "timeout http-request 10s" in text
        frontends = [block for block in text.split("\nfrontend ")[1:] if "metrics" not in block[:8]]
        assert frontends
        for block in frontends:
            assert "tcp-request connection reject if { sc0_conn_cur gt 100 }" in block
            assert "http-request del-header X-Forwarded-For" in block
