"""The front's agent: HAProxy may send an instance its few, plus every request that has waited
long on a dependency, never more than its threads; its answer comes over a real socket."""

import socket
import threading

from lab.postgres import free_port
from shared.front_agent import STUCK_S, Agent, Waits


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def waiting_in_thread(waits, row, entered, leave):
    """A worker thread (of the worker using ``row``) waiting on a dependency until ``leave``."""

    waits.use_row(row)
    thread = threading.Thread(target=hold, args=(waits, entered, leave))
    thread.start()
    assert entered.wait(10)
    return thread


def test_only_waits_longer_than_the_stuck_bound_are_counted_and_an_end_uncounts_them():
    clock = Clock()
    waits = Waits(rows=2, threads=4, clock=clock)
    entered, leave = threading.Event(), threading.Event()
    thread = waiting_in_thread(waits, waits.claim(), entered, leave)

    assert waits.stuck() == 0  # an ordinary call, however busy the machine
    clock.now += STUCK_S + 0.01
    assert waits.stuck() == 1
    leave.set()
    thread.join()
    assert waits.stuck() == 0


def test_a_worker_that_exits_mid_wait_leaves_nothing_counted_and_its_row_is_reused():
    clock = Clock()
    waits = Waits(rows=1, threads=2, clock=clock)
    row = waits.claim()
    assert waits.claim() is None  # every row taken: a further worker reports nothing
    entered, leave = threading.Event(), threading.Event()
    thread = waiting_in_thread(waits, row, entered, leave)
    clock.now += 1
    assert waits.stuck() == 1

    waits.release(row)  # the master's child_exit
    assert waits.stuck() == 0
    assert waits.claim() == row
    leave.set()
    thread.join()


def test_the_agent_answers_its_few_plus_the_stuck_capped_at_the_threads():
    clock = Clock()
    waits = Waits(rows=1, threads=8, clock=clock)
    waits.use_row(waits.claim())
    agent = Agent(waits, at_once=6, most=7)
    bind = f"127.0.0.1:{free_port()}"
    agent.start(bind)
    leave = threading.Event()
    threads = []
    try:
        assert ask(bind) == "maxconn:6\n"
        for _ in range(3):
            entered = threading.Event()
            thread = threading.Thread(target=hold, args=(waits, entered, leave))
            thread.start()
            threads.append(thread)
            assert entered.wait(10)
        clock.now += 1
        assert ask(bind) == "maxconn:7\n"  # 6 + 3, but the instance has 7 threads
    finally:
        leave.set()
        for thread in threads:
            thread.join()
        agent.stop()


def hold(waits, entered, leave):
    with waits.waiting():
        entered.set()
        leave.wait(10)


def ask(bind):
    host, _, port = bind.rpartition(":")
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        return conn.makefile().read()
