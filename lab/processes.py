"""Start, watch and stop the system's processes (used by ``make up`` and the end-to-end tests)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

import requests

from shared.config import Settings

ROOT = Path(__file__).resolve().parents[1]

BIN = Path(sys.executable).parent


def gunicorn_command(service: str) -> list[str]:
    """The command line of one service's gunicorn."""
    package = {
        "orders": "order_service",
        "inventory": "inventory_service",
        "console": "console",
        "payments": "payment_provider",
    }[service]
    return [
        str(BIN / "gunicorn"),
        "-c",
        str(ROOT / package / "gunicorn_conf.py"),
        f"{package}.app:create_app()",
    ]


def start(command: Sequence[str], logfile: Path, env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """Start a process in its own session with its output appended to ``logfile``."""
    logfile.parent.mkdir(parents=True, exist_ok=True)
    with logfile.open("ab") as log:
        return subprocess.Popen(
            list(command),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env),
            cwd=ROOT,
            start_new_session=True,
        )


def wait_ready(
    url: str, *, timeout_s: float = 30.0, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Poll ``url`` until it answers 200; fail early if ``process`` exits meanwhile."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {url} was ready")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.1)  # polling interval of a readiness probe, not a wait for a result
    raise TimeoutError(f"{url} not ready after {timeout_s}s")


def wait_for_line(
    logfile: Path,
    text: str,
    *,
    after: int = 0,
    timeout_s: float = 30.0,
    process: subprocess.Popen[bytes] | None = None,
) -> None:
    """Poll ``logfile`` (from byte ``after``) until a line contains ``text``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"process exited with {process.returncode} before {text!r}")
        if logfile.exists():
            with logfile.open("rb") as f:
                f.seek(after)
                if text.encode() in f.read():
                    return
        time.sleep(0.05)  # polling interval, not a wait for a result
    raise TimeoutError(f"{text!r} not in {logfile} after {timeout_s}s")


def poll(condition: Callable[[], object], *, timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it is true; TimeoutError naming ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not reached after {timeout_s}s")
        time.sleep(0.05)  # polling interval, not a wait for a result


def kill_group(pid: int) -> None:
    """SIGKILL a process and everything in its session (a gunicorn master and its workers)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def started_at(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/PID/stat``, field 22); None when
    there is no such process. With the pid it names one process: a pid alone may be reused."""
    try:
        # The command name may hold spaces; the start time is the 20th field after it.
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (gunicorn's workers, for a gunicorn master)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name may hold spaces; the parent pid is the 2nd field after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return sorted(found)


@contextlib.contextmanager
def running(
    command: Sequence[str], logfile: Path, env: Mapping[str, str], ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """``command`` started, for the ``with`` block, once ``ready_url`` answers 200; ended after
    (a failed start included)."""
    proc = start(command, logfile, env)
    try:
        wait_ready(ready_url, process=proc)
        yield proc
    finally:
        end(proc)


def end(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> None:
    """SIGTERM a process this one started and reap it; SIGKILL it if it lingers."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def stop(pid: int, *, timeout_s: float = 15.0) -> None:
    """SIGTERM the process (gunicorn stops its workers gracefully), SIGKILL if it lingers."""
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            # Reap it if it is our child, so it does not linger as a zombie.
            if os.waitpid(pid, os.WNOHANG)[0] == pid:
                return
        except ChildProcessError:
            if not alive(pid):
                return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def apt_install(*packages: str) -> bool:
    """Install Debian packages when allowed (root, apt-get there); False if not or if it failed.

    The laboratory's tools install what they need (PostgreSQL, Prometheus, wrk) this one way;
    the product never runs apt-get.
    """
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    names = " ".join(packages)
    print(f"{names}: not installed; installing with apt-get", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
    ):
        if subprocess.run(command, env=env, stdout=subprocess.DEVNULL).returncode != 0:
            print(f"{names}: apt-get failed", flush=True)
            return False
    return True


def own_database_only(env: Mapping[str, str], service: str, settings: Settings) -> dict[str, str]:
    """``env`` with ``service``'s runtime database URL and no other (no owner's either): each
    process receives only its own database, as in production."""
    return {
        **without_databases(env),
        f"{service.upper()}_DATABASE_URL": settings.database_url(service),
    }


def without_databases(env: Mapping[str, str]) -> dict[str, str]:
    """``env`` with no database URL at all: the console owns no database."""
    return {k: v for k, v in env.items() if not k.endswith("DATABASE_URL")}
