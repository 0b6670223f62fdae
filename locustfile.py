"""Realistic load for watching the system in Grafana: ``make load`` (or ``locust`` here).

Each shopper signs up and logs in with its own account, browses products, places orders with an
Idempotency-Key (and sometimes retries them, as a client would after a timeout), and cancels
some; an admin (ADMIN_EMAIL / ADMIN_PASSWORD, as ``make up`` creates it) ships some. The order
service is the host; the inventory service is reached at INVENTORY_URL. Send it only to your own
machine. ``make up`` sets the per-address limits high enough for this (every simulated user
shares 127.0.0.1); per-customer limits apply as usual, one account per shopper.
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from locust import HttpUser, between, task

from shared.config import load_settings

SETTINGS = load_settings()
INVENTORY = SETTINGS.inventory_url.rstrip("/") + "/api/v1"


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)
    host = "http://127.0.0.1:3001"

    def on_start(self) -> None:
        email = f"shopper-{uuid.uuid4().hex[:12]}@example.com"
        password = uuid.uuid4().hex
        _account(self.client, "signup", email, password)
        self.auth = _login(self.client, email, password)
        self.admin = _login(self.client, SETTINGS.admin_email, SETTINGS.admin_password)
        products = self.client.get(f"{INVENTORY}/products?limit=100", name="inventory: products")
        self.skus = [p["sku"] for p in products.json()["items"]] or ["WIDGET-1"]
        self.placed: list[str] = []

    @task(3)
    def browse(self) -> None:
        self.client.get(
            f"{INVENTORY}/products/{random.choice(self.skus)}", name="inventory: one product"
        )

    @task(5)
    def place_order(self) -> None:
        key = str(uuid.uuid4())
        items = [
            {"sku": sku, "quantity": random.randint(1, 3)}
            for sku in random.sample(self.skus, k=min(len(self.skus), random.randint(1, 2)))
        ]
        body = {"items": items}
        for _attempt in range(2 if random.random() < 0.1 else 1):  # some clients retry
            with self.client.post(
                "/api/v1/orders",
                json=body,
                headers={**self.auth, "Idempotency-Key": key},
                name="POST /orders",
                catch_response=True,
            ) as response:
                if response.status_code in (201, 202, 422):
                    response.success()  # all three are correct answers
                    if response.status_code == 201:
                        self.placed.append(response.json()["id"])

    @task(1)
    def cancel_or_ship(self) -> None:
        if not self.placed:
            return
        order = self.placed.pop(random.randrange(len(self.placed)))
        action = random.choice(["cancel", "ship"])
        with self.client.post(
            f"/api/v1/orders/{order}/{action}",
            headers=self.auth if action == "cancel" else self.admin,
            name=f"POST /orders/{{id}}/{action}",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 409):
                response.success()  # 409: it changed meanwhile, which is fine

    @task(1)
    def look_at_orders(self) -> None:
        self.client.get("/api/v1/orders?limit=20", headers=self.auth, name="GET /orders")


def _account(client: Any, action: str, email: str, password: str) -> Any:
    """Sign up or log in as a careful client does: a ``503 OVERLOADED`` (every password-hash
    slot busy; nothing was done) is asked again after the wait it names, a few times."""
    body = {"email": email, "password": password}
    for _ in range(5):
        with client.post(f"/api/v1/auth/{action}", json=body, catch_response=True) as response:
            wait_ms = response.headers.get("Retry-After-Ms", "")
            if response.status_code != 503:
                return response
            response.success()  # not a failure of the system: it said when to come back
        time.sleep(int(wait_ms) / 1000 if wait_ms.isdigit() else 1.0)  # as the answer asks
    return response


def _login(client: Any, email: str, password: str) -> dict[str, str]:
    response = _account(client, "login", email, password)
    return {"Authorization": f"Bearer {response.json().get('access_token', '')}"}
