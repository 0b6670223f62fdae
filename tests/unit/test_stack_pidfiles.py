"""``make down`` signals only the processes ``make up`` started: a pid alone may be reused."""

import subprocess
import sys

import pytest

from lab import processes, stack


@pytest.fixture
def sleeper():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc
    processes.end(proc)


def test_a_process_started_is_found_by_its_pid_and_start_time(tmp_path, monkeypatch, sleeper):
    monkeypatch.setattr(stack, "RUN", tmp_path)
    (tmp_path / "svc.pid").write_text(f"{sleeper.pid} {processes.started_at(sleeper.pid)}")

    assert stack._running("svc") == sleeper.pid


def test_a_pid_now_held_by_another_process_is_not_ours(tmp_path, monkeypatch, sleeper):
    # The pid file of a process that ended, whose pid the system gave to this other one.
    monkeypatch.setattr(stack, "RUN", tmp_path)
    (tmp_path / "svc.pid").write_text(f"{sleeper.pid} 1")

    assert stack._running("svc") is None
    assert sleeper.poll() is None  # and nothing was sent to it


def test_an_old_pid_file_with_the_pid_alone_is_not_trusted(tmp_path, monkeypatch, sleeper):
    monkeypatch.setattr(stack, "RUN", tmp_path)
    (tmp_path / "svc.pid").write_text(str(sleeper.pid))

    assert stack._running("svc") is None
