"""Checks that stock figures and the movement ledger agree (invariant 1 of the design)."""

from sqlalchemy import Engine, text


def assert_ledger_matches_stock(engine: Engine) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.sku, p.on_hand, p.reserved, "
                "COALESCE(SUM(m.on_hand_delta), 0) AS ledger_on_hand, "
                "COALESCE(SUM(m.reserved_delta), 0) AS ledger_reserved "
                "FROM products p LEFT JOIN stock_movements m ON m.sku = p.sku GROUP BY p.sku"
            )
        ).all()
        reserved = dict(
            conn.execute(
                text(
                    "SELECT l.sku, SUM(l.quantity) FROM reservation_lines l "
                    "JOIN reservations r ON r.id = l.reservation_id WHERE r.status = 'RESERVED' "
                    "GROUP BY l.sku"
                )
            ).all()
        )
    for row in rows:
        assert (row.on_hand, row.reserved) == (row.ledger_on_hand, row.ledger_reserved), row.sku
        assert row.reserved == reserved.get(row.sku, 0), row.sku
