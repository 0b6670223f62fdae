"""Inventory service: products, stock reservations and the movement ledger."""
