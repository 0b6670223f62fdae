import pytest

from lab.system import System

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="package")
def system(settings, tmp_path_factory):
    """Both services and the reconciler as real processes, shared by the e2e tests.

    Package scope: they stop when the e2e tests end, so their reconciler never works on the
    database under another tier's tests.
    """
    with System(settings, tmp_path_factory.mktemp("e2e-logs")).started() as running:
        yield running


@pytest.fixture
def live(system, orders_engine, inventory_engine):
    """The running system; every process is running again and both databases empty after."""
    yield system
    system.ensure_running()
