import threading
from contextlib import contextmanager
from functools import partial

import pytest
from werkzeug.serving import make_server

from inventory_service.repository import UnitOfWork as InventoryUow
from order_service.repository import UnitOfWork as OrdersUow

pytestmark = pytest.mark.integration


@pytest.fixture
def inventory_uow(inventory_engine):
    return partial(InventoryUow, inventory_engine)


@pytest.fixture
def orders_uow(orders_engine):
    return partial(OrdersUow, orders_engine)


@contextmanager
def serve(app):
    """Serve a Flask app on 127.0.0.1 in a thread; yields its URL, then stops and cleans up."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join()
        app.extensions["engine"].dispose()
