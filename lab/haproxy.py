"""HAProxy in front of several instances of each service: its configuration, rendered.

Used by ``make up`` with more than one instance and by the chaos scale scenarios. What it does,
and why, is in docs/scale-out.md.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from lab import processes

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


@dataclass(frozen=True)
class Frontend:
    """One service behind the load balancer: where clients reach it, and its instances."""

    name: str
    bind: str
    servers: dict[str, str]  # instance name -> host:port


def render(frontends: list[Frontend], metrics_bind: str, errors_dir: Path) -> str:
    """The whole configuration; ``errors_dir`` receives the error pages it refers to."""
    errors_dir.mkdir(parents=True, exist_ok=True)
    lines = [
        "global",
        "    maxconn 4096",
        "    log stdout format raw local0 info",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlog-normal  # only errors and abnormal ends reach the log",
        "    timeout connect 1s",
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
    for status in _ERRORS:
        page = errors_dir / f"{status}.http"
        page.write_text(_error_page(status))
        lines.append(f"    errorfile {status} {page}")
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
            f"    default_backend {frontend.name}",
            "",
            f"backend {frontend.name}",
            "    balance leastconn",
            "    option httpchk GET /health/ready",
            "    http-check expect status 200",
            f"    default-server check {CHECK}",
        ]
        lines += [f"    server {name} {address}" for name, address in frontend.servers.items()]
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
