"""The gremlin engine and its API inside the inventory app, on real PostgreSQL.

Sleep, crash and clock are injected: a "crash" here records itself instead of killing pytest.
"""

from datetime import UTC, datetime, timedelta

import pytest

from chaos.store import GremlinStore
from inventory_service.app import create_app
from tests.helpers import authorised, bearer

TOKEN = "test-admin-token-123"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
LINES = {"lines": [{"sku": "A", "quantity": 1}]}


class Recorder:
    def __init__(self):
        self.slept, self.deaths = [], 0
        self.now = datetime.now(UTC)

    def sleep(self, seconds):
        self.slept.append(seconds)

    def die(self):
        self.deaths += 1

    def clock(self):
        return self.now


@pytest.fixture
def rec():
    return Recorder()


def make_app(settings, rec, enabled=True):
    app = create_app(settings.replace(chaos_enabled=enabled, admin_token=TOKEN))
    # No caching, so each request sees the latest change; effects recorded, not suffered.
    app.extensions["chaos"].use(refresh_s=0, sleep=rec.sleep, die=rec.die, clock=rec.clock)
    return app


@pytest.fixture
def app(settings, rec, inventory_engine):
    application = make_app(settings, rec)
    yield application
    application.extensions["engine"].dispose()


@pytest.fixture
def client(app):
    c = app.test_client()
    admin = bearer("admin", "test-admin")
    body = {"sku": "A", "name": "a", "on_hand": 100}
    assert c.post("/api/v1/products", json=body, headers=admin).status_code == 201
    # Reservations come from the order service: the client carries its token.
    return authorised(c, "service", "order-service")


def put(client, name, **body):
    response = client.put(f"/chaos/{name}", json=body, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_an_error_before_the_work_changes_nothing(client):
    put(client, "err", kind="error", status=503)

    response = client.put("/api/v1/reservations/r1", json=LINES)

    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "INJECTED_FAULT"
    assert client.get("/api/v1/reservations/r1").status_code == 503  # it watches GETs too
    client.delete("/chaos", headers=AUTH)
    assert client.get("/api/v1/reservations/r1").status_code == 404


def test_an_error_after_the_commit_hides_work_that_was_done(client):
    put(client, "err", kind="error", status=500, phase="after", method="PUT")

    response = client.put("/api/v1/reservations/r1", json=LINES)

    assert response.status_code == 500
    assert client.get("/api/v1/reservations/r1").get_json()["status"] == "RESERVED"
    assert client.get("/api/v1/products/A").get_json()["reserved"] == 1


def test_a_crash_happens_after_the_commit(client, rec):
    put(client, "boom", kind="crash", method="PUT")

    client.put("/api/v1/reservations/r1", json=LINES)

    assert rec.deaths == 1
    assert client.get("/api/v1/reservations/r1").get_json()["status"] == "RESERVED"


def test_latency_delays_and_the_work_still_happens(client, rec):
    put(client, "slow", kind="latency", delay_ms=3000, method="PUT")

    response = client.put("/api/v1/reservations/r1", json=LINES)

    assert response.status_code == 201 and rec.slept == [3.0]


def test_every_nth_counts_matching_calls_and_the_firings_name_the_reservation(client, app):
    put(client, "every2", kind="error", every_nth=2, method="PUT")

    codes = [client.put(f"/api/v1/reservations/r{i}", json=LINES).status_code for i in range(1, 7)]

    assert codes == [201, 503, 201, 503, 201, 503]
    firings = GremlinStore(app.extensions["engine"]).firings()
    assert [f.reservation_id for f in firings] == ["r2", "r4", "r6"]
    status = client.get("/chaos").get_json()["gremlins"][0]
    assert (status["matched"], status["fired"]) == (6, 3)


def test_fail_next_fires_k_times_then_stops(client):
    put(client, "twice", kind="error", fail_next=2, method="PUT")

    codes = [client.put(f"/api/v1/reservations/r{i}", json=LINES).status_code for i in range(4)]

    assert codes == [503, 503, 201, 201]


def test_a_gremlin_with_a_ttl_removes_itself(client, rec):
    put(client, "brief", kind="error", ttl_s=60)
    assert client.get("/api/v1/products/A").status_code == 503

    rec.now += timedelta(seconds=61)

    assert client.get("/api/v1/products/A").status_code == 200
    assert client.get("/chaos").get_json()["gremlins"] == []


def test_chaos_health_and_docs_are_never_affected_so_a_gremlin_can_always_be_removed(client):
    put(client, "everything", kind="error", path="/*")

    assert client.get("/api/v1/products/A").status_code == 503
    assert client.get("/health/live").status_code == 200
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/chaos").status_code == 200
    assert client.delete("/chaos", headers=AUTH).status_code == 200
    assert client.get("/api/v1/products/A").status_code == 200


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": ""}, 401),
        ({"Authorization": "Bearer nope"}, 401),
        (bearer("customer", "c-1"), 403),
        (bearer("service", "order-service"), 403),
    ],
)
def test_changes_need_the_admin_token_or_an_admins_jwt(client, headers, status):
    response = client.put("/chaos/x", json={"kind": "error"}, headers=headers)

    assert response.status_code == status
    assert client.get("/chaos").get_json()["gremlins"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "flood"},
        {"kind": "error", "status": 200},
        {"kind": "error", "probability": 1.5},
        {"kind": "latency", "delay_ms": 999999},
        {"kind": "error", "path": "no-slash"},
        {"kind": "error", "ttl_s": 0},
        {"kind": "error", "path": "/api/v1/*\n"},
        {"kind": "error", "colour": "red"},
    ],
)
def test_a_gremlin_the_document_refuses_is_a_400(client, body):
    response = client.put("/chaos/x", json=body, headers=AUTH)

    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "VALIDATION_ERROR"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "latency"}, "delay_ms"),
        ({"kind": "error", "every_nth": 2, "fail_next": 1}, "selector"),
        ({"kind": "crash", "phase": "before"}, "phase"),
        ({"kind": "latency", "delay_ms": 20000, "jitter_ms": 20000}, "jitter_ms"),  # > timeout
        ({"kind": "error", "phase": "after", "status": 409}, "status"),
        ({"kind": "error", "phase": "after", "status": 404}, "status"),
        ({"kind": "error", "probability": 0}, "probability"),
    ],
)
def test_a_gremlin_whose_fields_do_not_fit_together_is_a_422_and_sets_nothing(client, body, field):
    response = client.put("/chaos/x", json=body, headers=AUTH)

    assert response.status_code == 422
    assert field in response.get_json()["error"]["details"]["fields"]
    assert client.get("/chaos").get_json()["gremlins"] == []


@pytest.mark.parametrize("name", ["x%00", "x%0A", "x%1B"])
def test_a_gremlin_name_with_control_characters_is_a_400(client, name):
    response = client.put(f"/chaos/{name}", json={"kind": "error"}, headers=AUTH)

    assert response.status_code == 400


def test_an_admins_jwt_may_change_gremlins_too(client):
    response = client.put("/chaos/x", json={"kind": "error"}, headers=bearer("admin", "ops"))

    assert response.status_code == 200
    assert client.get("/chaos").get_json()["gremlins"][0]["name"] == "x"


def test_removing_an_unknown_gremlin_is_a_404(client):
    assert client.delete("/chaos/ghost", headers=AUTH).status_code == 404


def test_with_chaos_disabled_nothing_can_be_switched_on(settings, rec, inventory_engine):
    app = make_app(settings, rec, enabled=False)
    client = app.test_client()

    response = client.put("/chaos/x", json={"kind": "error"}, headers=AUTH)

    assert response.status_code == 403
    assert client.get("/chaos").get_json() == {"enabled": False, "gremlins": []}
    app.extensions["engine"].dispose()


def test_the_document_get_returns_can_be_put_back_unchanged(client):
    created = client.put(
        "/chaos/slow",
        json={"kind": "latency", "delay_ms": 50, "probability": 0.5, "seed": 3, "ttl_s": 60},
        headers=AUTH,
    ).get_json()
    (shown,) = client.get("/chaos").get_json()["gremlins"]

    again = client.put("/chaos/slow", json=shown, headers=AUTH)

    assert again.status_code == 200
    settable = ("kind", "phase", "delay_ms", "probability", "seed", "method", "path")
    assert {k: again.get_json()[k] for k in settable} == {k: created[k] for k in settable}


def test_a_crash_is_stored_as_after_the_commit_whatever_the_default(client):
    created = client.put("/chaos/boom", json={"kind": "crash"}, headers=AUTH).get_json()

    assert created["phase"] == "after"


@pytest.mark.parametrize("body", [{"kind": "flood"}, "not json at all", {"deep": [[[[]]]]}])
def test_an_unauthenticated_change_is_a_401_whatever_the_body(client, body):
    as_json = {"json": body} if isinstance(body, dict) else {"data": body}

    response = client.put("/chaos/x", headers={"Authorization": ""}, **as_json)

    assert response.status_code == 401


def test_firings_past_retention_are_pruned_when_gremlins_are_read(client, app, rec):
    store = app.extensions["chaos"].store
    put(client, "boom", kind="error", status=503, path="/api/v1/reservations/*")
    for _ in range(3):
        client.put("/api/v1/reservations/r1", json=LINES)
    assert len(store.firings()) == 3

    rec.now += store.firings_retention / 2
    client.get("/api/v1/products/A")  # reads the gremlins: nothing old enough yet
    assert len(store.firings()) == 3

    rec.now += store.firings_retention
    client.get("/api/v1/products/A")
    assert store.firings() == []
