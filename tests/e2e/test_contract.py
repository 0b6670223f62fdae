"""The OpenAPI documents are the contract: schemathesis, with every check and every phase
(examples, coverage, fuzzing and the stateful walk along the documents' links), against the real
services finds no failure. ``CONTRACT_EXAMPLES`` sets the examples per operation (``make fuzz``:
many).

The chaos API is walked apart and last: a gremlin the fuzzer sets would otherwise make inventory
answer 500 on purpose while the rest of its API is under test; the gremlins are removed after.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.auth import Role

CONFIG = Path(__file__).with_name("schemathesis.toml")
EXAMPLES = os.environ.get("CONTRACT_EXAMPLES", "8")
ST = Path(sys.executable).with_name("st")


def _schemathesis(
    live, port: int, audience: str, *selection: str
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "CONTRACT_USER_TOKEN": _token(live.auth("contract-admin", Role.ADMIN)),
        "CONTRACT_SERVICE_TOKEN": _token(live.auth("orders", Role.SERVICE, audience)),
    }
    command = [
        str(ST),
        "--config-file",
        str(CONFIG),
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        "--checks",
        "all",
        "--phases",
        "examples,coverage,fuzzing,stateful",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "1",
        "--generation-database",
        "none",
        "--no-color",
        *selection,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)


def _token(header: dict[str, str]) -> str:
    return header["Authorization"].removeprefix("Bearer ")


def _passed(run: subprocess.CompletedProcess[str]) -> bool:
    print(run.stdout)  # the failures and the summary, shown with -s and on failure
    return run.returncode == 0


def test_the_order_api_keeps_its_document(live):
    live.create_product("WIDGET-1", 10_000)

    assert _passed(_schemathesis(live, live.order_port, live.settings.auth_audience)), "see above"


def test_the_inventory_api_keeps_its_document(live):
    live.create_product("WIDGET-1", 10_000)

    run = _schemathesis(live, live.inventory_port, "inventory", "--exclude-path-regex", "^/chaos")

    assert _passed(run), "see above"


@pytest.fixture
def gremlins_removed_after(live):
    yield
    live.http.delete(f"http://127.0.0.1:{live.inventory_port}/chaos", headers=live.auth())


def test_the_chaos_api_keeps_its_document(live, gremlins_removed_after):
    run = _schemathesis(live, live.inventory_port, "inventory", "--include-path-regex", "^/chaos")

    assert _passed(run), "see above"
