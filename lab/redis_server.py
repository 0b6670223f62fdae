"""A local redis-server for the shared breaker and rate limits (tests, chaos runs, ``make up``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from lab import processes


def binary(install: bool = True) -> str:
    """redis-server's path, installed from Debian when missing and allowed (root)."""
    if shutil.which("redis-server") is None and install:
        processes.apt_install("redis-server")
    found = shutil.which("redis-server")
    if found is None:
        raise RuntimeError("redis-server is not installed; run: sudo apt-get install redis-server")
    return found


def command(port: int, directory: Path) -> list[str]:
    """In the foreground, on 127.0.0.1 only, nothing saved: its state is counters and a breaker."""
    directory.mkdir(parents=True, exist_ok=True)
    return [
        binary(),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(directory),
    ]


def wait_ready(url: str, process: subprocess.Popen[bytes] | None = None) -> None:
    """Poll until Redis answers PING (fail early if ``process`` exits meanwhile)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=0.5)

    def answers() -> bool:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}")
        try:
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        processes.poll(answers, timeout_s=15, what=f"redis at {url}")
    finally:
        client.close()


class LocalRedis:
    """One redis-server on a fixed port, to stop and start again (tests)."""

    def __init__(self, port: int, directory: Path) -> None:
        self.port, self.directory = port, directory
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = processes.start(
            command(self.port, self.directory), self.directory / "redis.log", os.environ
        )
        wait_ready(self.url, self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            processes.end(self.proc)
            self.proc = None
