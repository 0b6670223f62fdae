"""Several reconcilers on one real database deliver each command once between them."""

import threading
from datetime import UTC, datetime, timedelta

from order_service.delivery import Deliverer
from order_service.domain import CommandKind
from order_service.reconciler import Reconciler
from order_service.services import OrderContext
from tests.fakes.inventory import FakeInventory
from tests.helpers import run_threads


class CountingInventory(FakeInventory):
    def __init__(self):
        super().__init__()
        self.lock = threading.Lock()

    def release(self, reservation_id, *, timeout_s=None):
        with self.lock:
            return super().release(reservation_id, timeout_s=timeout_s)


def test_concurrent_reconcilers_share_the_work_without_repeating_it(orders_uow):
    import uuid

    now = datetime.now(UTC)
    with orders_uow() as tx:
        for _ in range(40):
            tx.outbox.add(
                uuid.uuid4(),
                CommandKind.RELEASE,
                {},
                now=now,
                not_before=now - timedelta(seconds=1),
            )
        tx.commit()
    inventory = CountingInventory()
    ctx = OrderContext(
        uow=orders_uow, deliverer=Deliverer(orders_uow, inventory, lambda: datetime.now(UTC))
    )
    reconcilers = [Reconciler(ctx, pending_ttl_s=900, batch_size=5) for _ in range(4)]

    def work(i):
        while reconcilers[i].run_once():
            pass

    _, errors = run_threads(4, work)

    assert errors == []
    assert len(inventory.calls) == 40
    assert len({rid for _, rid in inventory.calls}) == 40
    with orders_uow() as tx:
        assert tx.outbox.backlog() == (0, None)
