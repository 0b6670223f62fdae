"""The locustfile drives the running system without a failed request."""

import subprocess
import sys
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_headless_locust_run_places_orders_without_failures(live, orders_engine):
    live.create_product("LOCUST-1", 1000)
    live.create_product("LOCUST-2", 1000)
    env = {**live.process_env("orders"), "INVENTORY_URL": f"http://127.0.0.1:{live.inventory_port}"}
    # The admin who ships, made as an operator makes one (make up does the same).
    made = subprocess.run(
        [sys.executable, "-m", "order_service.accounts", "create-admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert made.returncode == 0 and "admin account: admin@example.com" in made.stdout, made.stderr

    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "locust"),
            "-f",
            str(ROOT / "locustfile.py"),
            "--headless",
            "-u",
            "4",
            "-r",
            "4",
            "-t",
            "5s",
            "--only-summary",
            "--host",
            f"http://127.0.0.1:{live.order_port}",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with orders_engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM orders")).scalar() > 0
