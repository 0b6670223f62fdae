"""Property-based fuzz of both OpenAPI documents (schemathesis) on real PostgreSQL.

Valid and invalid requests (negative mode: wrong types, missing and extra fields, NUL and other
control characters, out-of-range numbers) go to every documented operation with an admin's token
(the service's token on the reservation commands, so the fuzz reaches the stock code too). Any
5xx, or a response that does not match the documented schema, fails the test.

``FUZZ_EXAMPLES`` bounds the examples per operation and mode: small in ``make test``
(reproducible, ``deterministic``), large in ``make fuzz`` (random). Counts go to
``.run/fuzz-report.json`` when ``FUZZ_REPORT`` names it.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from inventory_service.app import create_app as create_inventory
from order_service.app import create_app as create_orders
from tests.fakes.inventory import FakeInventory
from tests.helpers import bearer

pytestmark = pytest.mark.integration

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
RANDOM = os.environ.get("FUZZ_RANDOM", "") == "1"
TALLY: Counter[str] = Counter()
ADMIN = bearer("admin", "fuzz-admin")
SERVICE = bearer("service", "orders")
CHECKS = [not_a_server_error, response_schema_conformance]


@pytest.fixture(scope="module")
def orders_app(settings):
    app = create_orders(settings.replace(chaos_enabled=False), inventory=FakeInventory())
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def inventory_app(settings):
    app = create_inventory(settings.replace(chaos_enabled=False))
    yield app
    app.extensions["engine"].dispose()


@pytest.fixture(scope="module")
def orders_schema(orders_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", orders_app)


@pytest.fixture(scope="module")
def inventory_schema(inventory_app):
    return schemathesis.openapi.from_wsgi("/openapi.json", inventory_app)


def _tally(response) -> None:
    TALLY["cases"] += 1
    TALLY[f"{response.status_code // 100}xx"] += 1


def _fuzz(schema, headers_for) -> None:
    """Every operation, valid and invalid examples; the first failure is raised, shrunk."""
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES,
                derandomize=not RANDOM,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                response = case.call(headers=headers_for(case))
                _tally(response)
                case.validate_response(response, checks=CHECKS)

            try:
                run()
            except Unsatisfiable:
                # Nothing in the document can be broken (e.g. one free-form path parameter):
                # there is no invalid request to make for this operation.
                assert mode is GenerationMode.NEGATIVE, operation.label
                TALLY["operations_without_negative_cases"] += 1


def test_order_api(orders_schema, orders_engine):  # the engine fixture empties the tables
    _fuzz(orders_schema, lambda case: ADMIN)


def test_inventory_api(inventory_schema, inventory_engine):
    _fuzz(
        inventory_schema,
        lambda case: SERVICE if case.path.startswith("/api/v1/reservations") else ADMIN,
    )


# Any JSON at all, nested up to 64 levels: half of it deeper than the services accept.
_SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
_DEEP = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=2) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=64,
)


def _nest(depth: int, leaf: object) -> object:
    for level in range(depth):
        leaf = [leaf] if level % 2 else {"items": leaf}
    return leaf


@pytest.mark.parametrize(
    ("service", "path"),
    [
        ("orders", "/api/v1/orders"),
        ("orders", "/api/v1/auth/signup"),
        ("inventory", "/api/v1/products"),
    ],
)
def test_any_json_body_is_never_a_server_error(
    orders_app, inventory_app, orders_engine, inventory_engine, service, path
):
    client = (orders_app if service == "orders" else inventory_app).test_client()

    @settings(max_examples=EXAMPLES * 4, deadline=None, derandomize=not RANDOM, database=None)
    @given(depth=st.integers(0, 64), leaf=_DEEP)
    def run(depth, leaf):
        response = client.post(
            path,
            data=json.dumps(_nest(depth, leaf)),
            content_type="application/json",
            headers=ADMIN,
        )
        _tally(response)
        assert response.status_code < 500, response.get_data(as_text=True)

    run()


@pytest.fixture(scope="module", autouse=True)
def _report():
    yield
    target = os.environ.get("FUZZ_REPORT")
    if target:
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        Path(target).write_text(json.dumps({"examples_per_operation": EXAMPLES, **TALLY}, indent=2))
