"""The reserve command's payload: what the outbox keeps and the body inventory receives."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from order_service.domain import OrderLine


def reserve_payload(lines: Iterable[OrderLine]) -> dict[str, Any]:
    """``{"lines": [{"sku", "quantity"}, ...]}``: written once, stored and sent as it is."""
    return {"lines": [{"sku": line.sku, "quantity": line.quantity} for line in lines]}


def reserve_lines(payload: Mapping[str, Any]) -> tuple[OrderLine, ...]:
    """The order lines of a stored payload."""
    return tuple(OrderLine(line["sku"], line["quantity"]) for line in payload["lines"])
