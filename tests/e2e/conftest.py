import pytest

from tests.e2e.system import System

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def system(settings, tmp_path_factory):
    """Both services and the reconciler as real processes, shared by the e2e tests."""
    running = System(settings, tmp_path_factory.mktemp("e2e-logs"))
    try:
        for name in ("inventory", "orders", "reconciler"):
            running.start(name)
        yield running
    finally:
        running.stop_all()


@pytest.fixture
def live(system, orders_engine, inventory_engine):
    """The running system, with both databases emptied after the test."""
    return system
