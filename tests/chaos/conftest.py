import pytest

from lab.chaos import ADMIN_TOKEN
from lab.system import System

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="package")
def chaos_system(settings, tmp_path_factory):
    """The system with chaos on, for the short scenarios (short timeouts: they drain in seconds)."""
    system = System(settings.replace(admin_token=ADMIN_TOKEN), tmp_path_factory.mktemp("chaos"))
    with system.started() as running:
        yield running
