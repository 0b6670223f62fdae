"""HTML forms to API bodies. The APIs validate (their messages come back per field); here the
text a browser sends is only shaped into the JSON the API expects."""

from __future__ import annotations

from dataclasses import Field, dataclass
from typing import Any

from chaos.model import SETTABLE

ORDER_ROWS = 3  # lines shown on a fresh order form; "Add a line" adds more


def _number(raw: str, kind: type) -> Any:
    """The number the text means, or the text itself, so that the API says what is wrong."""
    try:
        return kind(raw)
    except ValueError:
        return raw


def order_lines(form: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """The filled lines of the order form as API items, and the form row of each item."""
    skus, quantities = form.getlist("sku"), form.getlist("quantity")
    items, rows = [], []
    for row, (sku, quantity) in enumerate(zip(skus, quantities, strict=False)):
        sku, quantity = sku.strip(), quantity.strip()
        if not sku and not quantity:
            continue
        items.append({"sku": sku, "quantity": _number(quantity, int) if quantity else None})
        rows.append(row)
    # All of them, however many: past the API's limit it says so, nothing is dropped silently.
    return items, rows


# The order form's address inputs, named as the API's fields (``address-<field>``).
ADDRESS_FIELDS = (
    ("name", "Name"),
    ("line1", "Address"),
    ("line2", "Address, second line (optional)"),
    ("city", "City"),
    ("postal_code", "Postal code"),
    ("country", "Country (two letters, such as GB)"),
)


def shipping_address(form: Any) -> dict[str, Any] | None:
    """The form's shipping address for the API, or None when every input was left empty."""
    given = {name: form.get(f"address-{name}", "").strip() for name, _ in ADDRESS_FIELDS}
    if not any(given.values()):
        return None
    given["country"] = given["country"].upper()
    return {**given, "line2": given["line2"] or None}


def line_errors(fields: dict[str, list[str]], rows: list[int]) -> dict[str, list[str]]:
    """API messages about ``items.N.sku`` keyed by the form row they belong to (``line-R-sku``)."""
    placed: dict[str, list[str]] = {}
    for key, messages in fields.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit():
            index = int(parts[1])
            row = rows[index] if index < len(rows) else index
            placed[f"line-{row}-{parts[2]}"] = messages
        else:
            placed[key] = messages
    return placed


@dataclass(frozen=True)
class GremlinField:
    """One input of the gremlin form, from the same metadata the CLI's options come from."""

    name: str
    help: str
    choices: tuple[str, ...]
    number: type | None  # int or float for a number input; None for text or a choice
    low: float | None
    high: float | None
    kinds: tuple[str, ...]  # the kinds it means something for; empty: every kind

    @property
    def label(self) -> str:
        return self.name.replace("_", " ")

    @property
    def input(self) -> str:
        return "select" if self.choices else "number" if self.number else "text"

    @property
    def step(self) -> str:
        return "any" if self.number is float else "1"


def _field(name: str, f: Field[Any]) -> GremlinField:
    meta, kind = f.metadata, str(f.type)
    number = int if kind.startswith("int") else float if kind.startswith("float") else None
    return GremlinField(
        name,
        meta["help"],
        tuple(str(c) for c in meta["choices"] or ()),
        number,
        meta["low"],
        meta["high"],
        tuple(str(k) for k in meta["kinds"] or ()),
    )


GREMLIN_FIELDS = [_field(name, f) for name, f in SETTABLE.items()] + [
    GremlinField(
        "ttl_s", "remove the gremlin by itself after this many seconds", (), int, 1, 86_400, ()
    ),
]


def gremlin_body(form: Any) -> tuple[str, dict[str, Any]]:
    """The gremlin's name (default: its kind) and the PUT body: only the fields filled in."""
    body: dict[str, Any] = {}
    for f in GREMLIN_FIELDS:
        raw = form.get(f.name, "").strip()
        if raw:
            body[f.name] = _number(raw, f.number) if f.number else raw
    name = form.get("name", "").strip() or str(body.get("kind") or "gremlin")
    return name, body
