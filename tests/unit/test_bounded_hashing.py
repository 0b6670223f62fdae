"""Password hashing is bounded per process: a flood of logins cannot take every core from the
orders; past the bound a login is refused at once with 503 OVERLOADED and Retry-After."""

import os
import threading

import pytest

from order_service.accounts.hashing import BoundedHasher
from shared.errors import Overloaded


class GatedHasher:
    """A hasher that holds each call until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()

    def hash(self, password: str) -> str:
        self.entered.release()
        self.release.wait(timeout=10)
        return f"h:{password}"

    def verify(self, digest: str, password: str) -> bool:
        return self.hash(password) == digest


def test_hashes_past_the_bound_are_refused_at_once_and_the_others_finish():
    inner = GatedHasher()
    bounded = BoundedHasher(inner, limit=2, wait_s=0)
    results: list[str] = []
    busy = [threading.Thread(target=lambda: results.append(bounded.hash("p"))) for _ in range(2)]
    for thread in busy:
        thread.start()
    for _ in busy:
        assert inner.entered.acquire(timeout=10)  # both hold a slot

    with pytest.raises(Overloaded) as refused:
        bounded.verify("h:p", "p")
    inner.release.set()
    for thread in busy:
        thread.join(timeout=10)

    assert refused.value.retry_after_s >= 1
    assert results == ["h:p", "h:p"]
    assert bounded.verify("h:p", "p")  # the slots are free again


def test_a_hash_that_fails_gives_its_slot_back():
    class Failing:
        def hash(self, password: str) -> str:
            raise ValueError("bad")

        def verify(self, digest: str, password: str) -> bool:
            raise ValueError("bad")

    bounded = BoundedHasher(Failing(), limit=1, wait_s=0)
    for _ in range(3):
        with pytest.raises(ValueError):
            bounded.hash("p")


def test_hashes_run_on_threads_of_the_lowest_priority():
    class Niceness:
        def hash(self, password: str) -> str:
            tid = threading.get_native_id()
            return f"{os.sched_getscheduler(tid)} {os.getpriority(os.PRIO_PROCESS, tid)}"

        def verify(self, digest: str, password: str) -> bool:
            return True

    tid = threading.get_native_id()
    own = os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid)
    bounded = BoundedHasher(Niceness(), limit=1, wait_s=1)
    assert bounded.hash("p") == f"{os.SCHED_IDLE} 19"
    # The caller's own thread is left as it was.
    assert (os.sched_getscheduler(tid), os.getpriority(os.PRIO_PROCESS, tid)) == own
