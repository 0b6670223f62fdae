"""The locks pin what pyproject.toml asks for, with hashes, and the environment is the lock.

pyproject.toml keeps the direct requirements; requirements/runtime.lock (the image) and
requirements/dev.lock (make venv, CI) pin everything, transitive packages included. A change to
one without the other fails here: run `make lock`.
"""

import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCKS = ROOT / "requirements"


def canonical(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def direct(*extras):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = list(project["dependencies"])
    for extra in extras:
        wanted += project["optional-dependencies"][extra]
    pins = {}
    for requirement in wanted:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?==([^;\s]+)", requirement)
        assert match, f"not pinned with ==: {requirement}"
        pins[canonical(match.group(1))] = match.group(3)
    return pins


def locked(name):
    """{package: (version, number of hashes)} of one lock file."""
    text = (LOCKS / name).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9_.-]+)==(\S+)", block)
        if match:
            found[canonical(match.group(1))] = (match.group(2), block.count("--hash=sha256:"))
    return found


@pytest.mark.parametrize(("lock", "extras"), [("runtime.lock", ()), ("dev.lock", ("dev", "load"))])
def test_the_lock_pins_every_direct_requirement_at_its_version(lock, extras):
    pins = locked(lock)
    for name, version in direct(*extras).items():
        assert name in pins, f"{name} is in pyproject.toml but not in {lock}: run `make lock`"
        assert pins[name][0] == version, f"{name}: {version} asked, {pins[name][0]} locked"


@pytest.mark.parametrize("lock", ["runtime.lock", "dev.lock"])
def test_every_locked_package_carries_hashes(lock):
    pins = locked(lock)

    assert len(pins) > len(direct())  # transitive packages are pinned too
    assert [name for name, (_, hashes) in pins.items() if hashes == 0] == []


def test_the_runtime_lock_agrees_with_the_dev_lock():
    dev = locked("dev.lock")
    for name, (version, _) in locked("runtime.lock").items():
        assert dev[name][0] == version, f"{name}: runtime {version}, dev {dev[name][0]}"


def test_the_environment_is_the_one_the_lock_describes():
    different = {}
    for name, (version, _) in locked("dev.lock").items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            different[name] = (version, installed)

    assert different == {}, "installed differs from requirements/dev.lock: run `make venv`"
