"""Realistic load for watching the system in Grafana: ``make load`` (or ``locust`` here).

Shoppers browse products, place orders with an Idempotency-Key (and sometimes retry them, as a
client would after a timeout), cancel some and ship some. The order service is the host; the
inventory service is reached at INVENTORY_URL. Send it only to your own machine.
"""

from __future__ import annotations

import random
import uuid

from locust import HttpUser, between, task

from shared.config import load_settings

INVENTORY = load_settings().inventory_url.rstrip("/") + "/api/v1"


class Shopper(HttpUser):
    wait_time = between(0.2, 1.0)
    host = "http://127.0.0.1:3001"

    def on_start(self) -> None:
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
        body = {"customer_id": f"shopper-{id(self) % 1000}", "items": items}
        for _attempt in range(2 if random.random() < 0.1 else 1):  # some clients retry
            with self.client.post(
                "/api/v1/orders",
                json=body,
                headers={"Idempotency-Key": key},
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
            name=f"POST /orders/{{id}}/{action}",
            catch_response=True,
        ) as response:
            if response.status_code in (200, 409):
                response.success()  # 409: it changed meanwhile, which is fine

    @task(1)
    def look_at_orders(self) -> None:
        self.client.get("/api/v1/orders?limit=20", name="GET /orders")
