"""A slow inventory request gets a second copy; the first answer wins, within a budget."""

import contextvars
import threading

import pytest

from order_service.bootstrap import build_inventory
from order_service.domain import OrderLine
from order_service.inventory import InventoryRefused, InventoryUnavailable
from order_service.inventory.http import HttpInventory
from order_service.inventory.resilient import ResilientInventory
from shared.config import Settings
from shared.resilience.failures import Reason
from shared.resilience.hedge import Hedge, HedgeBudget
from shared.resilience.policy import hedge_final
from tests.fakes.flaky_server import FlakyServer
from tests.unit.resilience.policies import policy

LINES = [OrderLine("A", 1)]


class Hedges:
    def __init__(self):
        self.count = 0

    def call_finished(self, operation, outcome, seconds):
        pass

    def retried(self, operation, reason):
        pass

    def hedged(self, operation):
        self.count += 1

    def retry_refused(self, operation):
        pass


@pytest.fixture
def server():
    s = FlakyServer()
    yield s
    s.close()


def client(url, *, after_s=0.05, budget=1.0, observer=None):
    return ResilientInventory(
        HttpInventory(url, connect_timeout_s=0.5, read_timeout_s=5, pool_size=4),
        policy(
            bulkhead=4,
            attempts=1,
            observer=observer,
            hedge=Hedge(after_s, HedgeBudget(budget), final=hedge_final, threads=8),
        ),
    )


def test_a_stalled_request_is_answered_by_its_copy(server):
    stalled = threading.Event()
    server.then("hold", stalled)  # the first copy waits until the test ends
    hedges = Hedges()

    reply = client(server.url, observer=hedges).reserve("r", LINES)

    stalled.set()
    assert reply.state == "RESERVED"
    assert server.requests == 2
    assert hedges.count == 1


def test_a_fast_answer_sends_no_copy(server):
    hedges = Hedges()

    client(server.url, after_s=5, observer=hedges).reserve("r", LINES)

    assert server.requests == 1 and hedges.count == 0


def test_a_refusal_from_either_copy_is_the_answer(server):
    stalled = threading.Event()
    server.then("hold", stalled).then("status", 409)

    with pytest.raises(InventoryRefused):
        client(server.url).reserve("r", LINES)
    stalled.set()


class Copies:
    """Hands each copy of a hedged call its own behaviour, in the order they start."""

    def __init__(self, *behaviours):
        self.behaviours, self.started = list(behaviours), 0
        self._lock = threading.Lock()

    def __call__(self):
        with self._lock:
            behaviour = self.behaviours[self.started]
            self.started += 1
        return behaviour()


def hedge(budget=1.0):
    return Hedge(0, HedgeBudget(budget), final=hedge_final, threads=4)


def test_when_the_copy_fails_the_first_request_can_still_answer():
    copy_failed = threading.Event()

    def first():
        assert copy_failed.wait(5)
        return "first answered"

    def copy():
        copy_failed.set()
        raise InventoryUnavailable(Reason.CONNECTION)

    assert hedge().run(Copies(first, copy)) == "first answered"


def test_when_both_copies_fail_the_call_fails(server):
    server.then("reset").then("reset")
    with pytest.raises(InventoryUnavailable) as failed:
        client(server.url, after_s=0).reserve("r", LINES)
    assert failed.value.reason is Reason.CONNECTION


def test_the_budget_caps_hedges_at_a_share_of_calls():
    budget = HedgeBudget(0.25, burst=2)

    spent = []
    for _ in range(100):
        budget.earn()
        spent.append(budget.spend())

    assert sum(spent) <= 2 + 0.25 * 100
    assert sum(spent) >= 0.25 * 100 - 1


def test_without_budget_no_copy_is_sent():
    copies = Copies(lambda: "only one")

    assert hedge(budget=0.0).run(copies) == "only one"
    assert copies.started == 1


def test_each_copy_sees_the_callers_context():
    request_id = contextvars.ContextVar("request_id")
    request_id.set("trace-me")
    seen = []

    def stalled_then_copy():
        seen.append(request_id.get(None))
        return "answered"

    hedge(budget=1.0).run(Copies(stalled_then_copy, stalled_then_copy))

    assert seen and set(seen) == {"trace-me"}


def test_every_request_a_hedging_client_can_send_at_once_has_a_pooled_connection():
    client = build_inventory(Settings(app_env="test"))

    pool = client.inner.session.get_adapter("http://").poolmanager.connection_pool_kw

    assert client.policy.hedge is not None
    assert pool["maxsize"] >= client.policy.hedge.threads  # else urllib3 discards and warns


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def armed_hedge(clock, armed_s=30.0, after_s=0.5):
    return Hedge(
        after_s,
        HedgeBudget(1.0),
        final=hedge_final,
        threads=4,
        armed_s=armed_s,
        clock=clock,
    )


def on_which_thread():
    return threading.get_ident()


def test_a_hedge_starts_armed_and_disarms_after_a_quiet_spell():
    clock = Clock()
    hedge = armed_hedge(clock)
    here = threading.get_ident()

    assert hedge.armed and hedge.run(on_which_thread) != here  # handed to the hedge's thread
    clock.now += 30
    assert not hedge.armed
    assert hedge.run(on_which_thread) == here  # straight on the caller's thread


def test_a_slow_call_arms_the_hedge_for_the_next_calls():
    clock = Clock()
    hedge = armed_hedge(clock)
    clock.now += 60
    here = threading.get_ident()

    def slow():
        clock.now += 0.6  # longer than the hedge delay, on the caller's clock
        return "slow answer"

    assert hedge.run(slow) == "slow answer"
    assert hedge.armed
    assert hedge.run(on_which_thread) != here
    clock.now += 29
    assert hedge.armed
    clock.now += 2
    assert hedge.run(on_which_thread) == here


def test_a_failed_call_arms_the_hedge_and_a_refusal_does_not():
    clock = Clock()
    hedge = armed_hedge(clock)
    clock.now += 60

    def refused():
        raise InventoryRefused(409, "INSUFFICIENT_STOCK", "not enough stock")

    def unreachable():
        raise InventoryUnavailable(Reason.CONNECTION)

    with pytest.raises(InventoryRefused):
        hedge.run(refused)
    assert not hedge.armed
    with pytest.raises(InventoryUnavailable):
        hedge.run(unreachable)
    assert hedge.armed


def test_while_armed_a_stall_keeps_it_armed():
    clock = Clock()
    hedge = armed_hedge(clock, after_s=0.01)
    clock.now += 29
    released = threading.Event()

    def stalled_then_answers():
        assert released.wait(5)
        return "first"

    def copy():
        clock.now += 1  # the stall was seen: now past the first arming
        released.set()
        return "copy"

    assert hedge.run(Copies(stalled_then_answers, copy)) in {"first", "copy"}
    assert hedge.armed  # re-armed by the stall, beyond the first 30 s
