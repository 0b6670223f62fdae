"""The browsable docs load everything from the service itself: no CDN, works offline."""

import re

import pytest

from inventory_service.app import create_app as create_inventory
from order_service.app import create_app as create_orders
from shared.config import Settings
from tests.fakes.inventory import FakeInventory

# Unreachable databases: serving the docs must not need one.
SETTINGS = Settings(
    app_env="test",
    orders_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
    inventory_database_url="postgresql+psycopg://x:y@127.0.0.1:9/none",
    log_level="WARNING",
)


@pytest.fixture(params=["orders", "inventory"])
def client(request):
    if request.param == "orders":
        return create_orders(SETTINGS, inventory=FakeInventory()).test_client()
    return create_inventory(SETTINGS).test_client()


def test_the_docs_page_loads_its_scripts_and_styles_from_the_service(client):
    page = client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="([^"]+\.(?:js|css))"', page)

    assert len(assets) >= 3
    for url in assets:
        assert url.startswith("/docs/assets/"), url
        response = client.get(url)
        status, size = response.status_code, len(response.data)
        response.close()  # a file response holds the file open until closed
        assert status == 200 and size > 1000, url


def test_an_asset_path_cannot_leave_the_asset_folder(client):
    assert client.get("/docs/assets/../../../etc/passwd").status_code == 404
