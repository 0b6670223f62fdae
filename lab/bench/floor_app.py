"""The order pattern's skeleton on the product's stack, and nothing else (``lab.bench.floor``).

``create_app("orders")`` answers ``POST /api/v1/orders``: it stores the body (one autocommitted
statement), reserves with a ``PUT`` to the inventory app through a keep-alive ``requests``
session, marks the order confirmed (a second statement) and answers 201.
``create_app("inventory")`` answers that ``PUT`` by storing the reservation (one statement).
Three commits and one HTTP hop per order, as in the product, through Flask, gunicorn,
SQLAlchemy Core, psycopg and requests; no validation, authentication, idempotency, logs,
metrics or resilience layer. Its CPU per order is the least any implementation on this stack
can spend.

Settings come from the environment: ``FLOOR_DATABASE_URL`` and, for orders, ``FLOOR_PEER``.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import requests
from flask import Flask, jsonify, request
from sqlalchemy import create_engine, text

# Created by ``lab.bench.floor`` before the workers start.
SCHEMA = {
    "orders": "CREATE TABLE IF NOT EXISTS floor_orders "
    "(id uuid PRIMARY KEY, body jsonb NOT NULL, status text NOT NULL)",
    "inventory": "CREATE TABLE IF NOT EXISTS floor_reservations "
    "(id uuid PRIMARY KEY, body jsonb NOT NULL)",
}
RECORD = text("INSERT INTO floor_orders (id, body, status) VALUES (:id, :body, 'PENDING')")
SETTLE = text("UPDATE floor_orders SET status = 'CONFIRMED' WHERE id = :id")
RESERVE = text("INSERT INTO floor_reservations (id, body) VALUES (:id, :body)")


def create_app(role: str) -> Flask:
    app = Flask(__name__)
    # Autocommit: each statement is its own transaction, as the product's single statements.
    engine = create_engine(os.environ["FLOOR_DATABASE_URL"], isolation_level="AUTOCOMMIT")
    peer = os.environ.get("FLOOR_PEER", "")
    sessions = threading.local()  # one keep-alive connection to inventory per thread

    def session() -> requests.Session:
        if not hasattr(sessions, "s"):
            sessions.s = requests.Session()
            sessions.s.trust_env = False
        s: requests.Session = sessions.s
        return s

    @app.post("/api/v1/orders")
    def place() -> Any:
        body = request.get_data(as_text=True)
        order_id = str(uuid.uuid4())
        with engine.connect() as conn:
            conn.execute(RECORD, {"id": order_id, "body": body})
        reply = session().put(
            f"{peer}/api/v1/reservations/{order_id}",
            data=body,
            headers={"Content-Type": "application/json"},
            timeout=5,
        )
        reply.raise_for_status()
        with engine.connect() as conn:
            conn.execute(SETTLE, {"id": order_id})
        return jsonify({"id": order_id, "status": "CONFIRMED"}), 201

    @app.put("/api/v1/reservations/<reservation_id>")
    def reserve(reservation_id: str) -> Any:
        with engine.connect() as conn:
            conn.execute(RESERVE, {"id": reservation_id, "body": request.get_data(as_text=True)})
        return jsonify({"status": "RESERVED", "shortages": []})

    @app.get("/health")
    def health() -> Any:
        return jsonify({"status": "ok"})

    return app
