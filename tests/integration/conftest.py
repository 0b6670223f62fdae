from functools import partial

import pytest

from inventory_service.repository import UnitOfWork as InventoryUow
from order_service.repository import UnitOfWork as OrdersUow

pytestmark = pytest.mark.integration


@pytest.fixture
def inventory_uow(inventory_engine):
    return partial(InventoryUow, inventory_engine)


@pytest.fixture
def orders_uow(orders_engine):
    return partial(OrdersUow, orders_engine)
