"""Demo products for a new system: ``python -m inventory_service.demo``.

Adds the products that do not exist yet and never touches existing stock, so it is safe to run
at every start (``make up`` and the containers' one-shot ``prepare`` step both do).
"""

from __future__ import annotations

import contextlib

from inventory_service import services
from inventory_service.bootstrap import build_stock
from inventory_service.domain import ProductExists
from shared.config import Settings, load_settings

# sku, name, stock, price in cents (EUR)
DEMO_PRODUCTS = [
    ("WIDGET-1", "Blue widget", 100, 1999),
    ("GADGET-2", "Red gadget", 50, 4950),
    ("GIZMO-3", "Green gizmo", 10, 12500),
    ("DOOHICKEY-4", "Yellow doohickey", 3, 299),
]


def seed(settings: Settings) -> None:
    """Add the demo products that do not exist yet."""
    engine, uow = build_stock(settings, "demo")
    try:
        for sku, name, on_hand, price_cents in DEMO_PRODUCTS:
            with contextlib.suppress(ProductExists):
                services.create_product(uow, sku, name, on_hand, price_cents, "EUR")
    finally:
        engine.dispose()


if __name__ == "__main__":
    seed(load_settings())
