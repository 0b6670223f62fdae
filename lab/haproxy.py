"""HAProxy in front of every service: its configuration, rendered.

``make up`` always runs it (one instance of each service or several), the chaos scale scenarios
and the overload tests too; ``deploy/haproxy/`` holds the same configuration rendered for
compose and Kubernetes (``python -m lab.haproxy`` writes it, a test holds it to this code).

It is the buffering front gunicorn's documentation asks for: a request reaches a worker only
once HAProxy has read all of it (``http-buffer-request``), within ``timeout http-request``, so a
slow client holds an HAProxy connection (a few kilobytes) and never a worker thread; each source
address may hold at most ``per_source_connections`` at once. What it does, and why, is in
docs/scale-out.md and docs/overload.md.
"""

from __future__ import annotations

import dataclasses
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from lab import processes
from shared.config import LAYOUTS, Layout

# Health checks every 500 ms; two failed checks take a server out (within about 1.5 s of it
# failing), two good ones put it back.
CHECK = "inter 500ms fastinter 250ms downinter 500ms fall 2 rise 2"

# Our own error body when HAProxy itself answers: the same shape as the services' errors.
_RETRY = "retry with the same Idempotency-Key"
_ERRORS = {
    502: ("Bad Gateway", "BAD_GATEWAY", f"the instance failed while answering; {_RETRY}"),
    503: ("Service Unavailable", "SERVICE_UNAVAILABLE", "no instance is ready; nothing changed"),
    504: ("Gateway Timeout", "GATEWAY_TIMEOUT", f"the instance did not answer in time; {_RETRY}"),
}


_RESOLVERS = ["", "resolvers system", "    parse-resolv-conf", "    hold valid 10s"]
# Sized for one person's machine, where every client is 127.0.0.1; deploy/haproxy uses 100.
LOCAL_PER_SOURCE = 1000


@dataclass(frozen=True)
class Frontend:
    """One service behind the load balancer: where clients reach it, and its instances."""

    name: str
    bind: str
    servers: dict[str, str]  # instance name -> host:port
    check_path: str = "/health/ready"
    # Requests each instance is sent at once (``capacity``); the rest wait in HAProxy's queue,
    # one fair queue for all instances, and once a quarter of that many wait, the next is
    # answered 503 OVERLOADED at once. None: no bound (the laboratory's scaled layouts).
    capacity: int | None = None
    # Instance name -> the port its gunicorn master answers HAProxy's agent check on
    # (shared.front_agent): it raises ``capacity`` by the requests waiting long on inventory.
    agents: dict[str, int] = field(default_factory=dict)


def capacity(layout: Layout) -> int:
    """Requests one instance is sent at once: its layout's ``at_once``, else every thread."""
    return layout.at_once or layout.workers * layout.threads


def render(
    frontends: list[Frontend],
    metrics_bind: str,
    errors_dir: Path,
    *,
    per_source_connections: int = LOCAL_PER_SOURCE,
    errors_at: Path | None = None,
    names: bool = False,
    resolve: bool = False,
) -> str:
    """The whole configuration; ``errors_dir`` receives the error pages it refers to (found at
    ``errors_at`` where HAProxy runs, if elsewhere). ``names``: the servers are DNS names, and
    one not found at start leaves its server down instead of stopping HAProxy; ``resolve``:
    they are looked up again as they change."""
    errors_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "global",
        "    maxconn 8000",  # two descriptors each: within a 20,000-file limit
        "    log stdout format raw local0 info",
        *(_RESOLVERS if resolve else []),
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlog-normal  # only errors and abnormal ends reach the log",
        "    timeout connect 1s",
        # The client's address for the services' per-address limits (shared.clients); each
        # frontend first drops what a client wrote itself, so the header holds what HAProxy saw.
        "    option forwardfor",
        # Headers and, with http-buffer-request, the body must have arrived within 10 s: a
        # slow client is cut here instead of holding a worker thread.
        "    option http-buffer-request",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout queue 5s",
        "    timeout check 1s",
        # A connection that could not be made never reached a server: retry it on another.
        # Nothing else is retried, since a request that was sent may have changed something.
        "    retries 2",
        "    retry-on conn-failure",
        "    option redispatch 1",
    ]
    (errors_dir / "overloaded.json").write_text(_OVERLOADED)
    for status in _ERRORS:
        (errors_dir / f"{status}.http").write_text(_error_page(status))
        lines.append(f"    errorfile {status} {(errors_at or errors_dir) / f'{status}.http'}")
    lines += [
        "",
        "frontend metrics",
        f"    bind {metrics_bind}",
        "    http-request use-service prometheus-exporter if { path /metrics }",
        "    http-request return status 200 content-type text/plain string ok if { path /health }",
    ]
    for frontend in frontends:
        lines += [
            "",
            f"frontend {frontend.name}",
            f"    bind {frontend.bind}",
            # Connections per source address, counted as they open: past the limit one is
            # closed at once, before a byte of it is read.
            "    stick-table type ipv6 size 100k expire 60s store conn_cur",
            "    tcp-request connection track-sc0 src",
            f"    tcp-request connection reject if {{ sc0_conn_cur gt {per_source_connections} }}",
            "    http-request del-header X-Forwarded-For",
            *_front_queue(frontend, errors_at or errors_dir),
            f"    default_backend {frontend.name}",
            "",
            f"backend {frontend.name}",
            "    balance leastconn",
            f"    option httpchk GET {frontend.check_path}",
            "    http-check expect status 200",
            f"    default-server check {CHECK}"
            + (f" maxconn {frontend.capacity}" if frontend.capacity else "")
            + (" init-addr last,libc,none" if names or resolve else "")
            + (" resolvers system" if resolve else ""),
        ]
        lines += [
            f"    server {name} {address}" + _agent(frontend.agents.get(name))
            for name, address in frontend.servers.items()
        ]
        # When every instance fails its check at once (the shared database restarting, or all
        # of them too busy to answer a check in time), sending to them anyway beats a certain
        # 503: each answers for itself (DATABASE_UNAVAILABLE with Retry-After, or the order).
        # Unchecked backups, used only then; a dead one refuses the connection and the request
        # is retried on another.
        lines += [
            f"    server {name}-last-resort {address} backup no-check"
            for name, address in frontend.servers.items()
        ]
    return "\n".join(lines) + "\n"


def _agent(port: int | None) -> str:
    # Four times a second: a slow inventory holds requests for hundreds of milliseconds.
    return f" agent-check agent-port {port} agent-inter 250ms" if port else ""


_OVERLOADED = (
    '{"error": {"code": "OVERLOADED", "message": "every instance is at capacity and enough are '
    'waiting; nothing was done, retry after Retry-After-Ms", "details": {"reason": "front", '
    '"retry_after_ms": 300}, "request_id": ""}}\n'
)


def _front_queue(frontend: Frontend, errors: Path) -> list[str]:
    if not frontend.capacity:
        return []
    waiting = max(1, frontend.capacity * len(frontend.servers) // 4)
    return [
        f"    http-request return status 503 content-type application/json "
        f"file {errors / 'overloaded.json'} hdr Retry-After 1 hdr Retry-After-Ms 300 "
        f"hdr Cache-Control no-store if {{ queue({frontend.name}) ge {waiting} }}"
    ]


def _error_page(status: int) -> str:
    reason, code, message = _ERRORS[status]
    body = f'{{"error": {{"code": "{code}", "message": "{message}", "details": {{}}}}}}\n'
    return (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: application/json\r\n"
        "Retry-After: 1\r\n"
        "Cache-Control: no-store\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "\r\n"
        f"{body}"
    )


def servers_up(metrics: str, backend: str) -> int:
    """How many servers of ``backend`` HAProxy counts as up, from its Prometheus exposition."""
    prefix = f'haproxy_backend_active_servers{{proxy="{backend}"}} '
    for line in metrics.splitlines():
        if line.startswith(prefix):
            return int(float(line[len(prefix) :]))
    return 0


def binary(install: bool = True) -> str:
    """HAProxy's path, installed from Debian when missing and allowed (root)."""
    found = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(found).exists() and install:
        processes.apt_install("haproxy")
    if not Path(found).exists():
        raise RuntimeError("haproxy is not installed; run: sudo apt-get install haproxy")
    return found


def command(config: Path) -> list[str]:
    """Foreground (-db): the caller owns the process and stops it by its pid."""
    return [binary(), "-db", "-f", str(config)]


# The same front for the containerised layouts, rendered into the repository (checked in, and
# held to this code by tests/deploy/test_edge.py). Each service is reached by its DNS name.
GENERATED = "# Rendered by `python -m lab.haproxy` from lab/haproxy.py; edit that, not this.\n"
IN_CONTAINER = Path("/usr/local/etc/haproxy/errors")
DEPLOYED_PER_SOURCE = 100
COMPOSE = Path("deploy/haproxy")
KUBERNETES = Path("deploy/kubernetes/base/edge")
COMPOSE_AGENT_PORT = 3011  # FRONT_AGENT_BIND of the orders container (docker-compose.yml)


def deployed(root: Path = processes.ROOT) -> dict[Path, str]:
    """Each containerised layout's configuration file, by where it is kept under ``root`` (its
    error pages are written there)."""
    public = [
        Frontend(
            "orders",
            "0.0.0.0:3001",
            {"orders": "orders:3001"},
            capacity=capacity(LAYOUTS["orders"]),
            agents={"orders": COMPOSE_AGENT_PORT},
        ),
        Frontend(
            "inventory",
            "0.0.0.0:3002",
            {"inventory": "inventory:3002"},
            capacity=capacity(LAYOUTS["inventory"]),
        ),
        Frontend("console", "0.0.0.0:8080", {"console": "console:8080"}, check_path="/login"),
    ]

    def rendered(frontends: list[Frontend], where: Path, resolve: bool) -> str:
        return render(
            frontends,
            "0.0.0.0:8405",
            root / where / "errors",
            per_source_connections=DEPLOYED_PER_SOURCE,
            errors_at=IN_CONTAINER,
            names=True,
            resolve=resolve,
        )

    # Kubernetes: the server is the orders Service, whose connections go to any pod, so no one
    # pod's agent speaks for it; the fixed figure holds there.
    kubernetes = [dataclasses.replace(public[0], agents={})]
    return {
        # Compose's containers change addresses when they restart: look their names up again.
        COMPOSE / "haproxy.cfg": rendered(public, COMPOSE, resolve=True),
        # Kubernetes Services keep their address: the name is read once. Only the order API is
        # public there; inventory is reached from inside (deploy/kubernetes/base/network-policy).
        KUBERNETES / "haproxy.cfg": rendered(kubernetes, KUBERNETES, resolve=False),
    }


if __name__ == "__main__":
    for path, text in deployed().items():
        (processes.ROOT / path).write_text(GENERATED + text)
        print(f"wrote {path}")
