"""The order service's view of inventory: a port, its typed failures, and the HTTP adapters."""

from order_service.inventory.port import (
    InventoryPort,
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    ReservationState,
)

__all__ = [
    "InventoryPort",
    "InventoryRefused",
    "InventoryReply",
    "InventoryUnavailable",
    "ReservationState",
]
