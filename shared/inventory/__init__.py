"""The order service's view of inventory: a port, its typed failures, and the HTTP adapters."""

from shared.inventory.port import (
    InventoryPort,
    InventoryRefused,
    InventoryReply,
    InventoryUnavailable,
    Line,
    ReservationState,
    UnavailableReason,
)

__all__ = [
    "InventoryPort",
    "InventoryRefused",
    "InventoryReply",
    "InventoryUnavailable",
    "Line",
    "ReservationState",
    "UnavailableReason",
]
