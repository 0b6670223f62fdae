"""Browser tests: the console in real headless Chromium (Debian's), driven by Playwright, on the
real services (gunicorn processes, PostgreSQL). Each test saves screenshots of the pages it sees
into ``CONSOLE_SCREENSHOTS`` (``make screenshots`` writes docs/console/) or a temporary folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from lab import processes
from lab.system import System
from order_service.accounts import ensure_admin
from order_service.bootstrap import build_accounts

pytestmark = pytest.mark.browser

ADMIN = ("admin@example.com", "an-admin-password-1")
# Headless Chromium on a machine with no display, no GPU and no way out to the internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
WIDE = {"width": 1100, "height": 800}


def _chromium() -> str:
    found = shutil.which("chromium")
    if not found and processes.apt_install("chromium"):
        found = shutil.which("chromium")
    if not found:
        pytest.fail("the browser tests need Debian's chromium: apt-get install chromium")
    return found


@pytest.fixture(scope="package")
def system(settings, tmp_path_factory):
    """Both services, the reconciler and the console as real processes."""
    running = System(
        settings,
        tmp_path_factory.mktemp("browser-logs"),
        service_env={
            # Refresh quickly so that the tests see changes soon; the pages behave the same.
            "console": {"CONSOLE_REFRESH_S": "0.5"},
            # A latency gremlin holds a thread per request, and requests their callers gave up on
            # still wait their turn: with the lab's 2 x 4 threads the retries of seven slow orders
            # queue up faster than they drain, and the admin's own page waits behind them.
            "inventory": {"WEB_THREADS": "16"},
        },
    )
    # The provider's pay page sends the browser back to this console, wherever it listens.
    running.service_env["orders"] = {"PAYMENT_RETURN_ORIGINS": running.console}
    with running.started(("payments", "inventory", "orders", "reconciler", "console")):
        yield running


@pytest.fixture
def live(system, orders_engine, inventory_engine):
    """The running system with an admin account and a product; both databases empty after."""
    accounts, engine = build_accounts(system.settings)
    try:
        ensure_admin(accounts, *ADMIN)
    finally:
        engine.dispose()
    system.create_product("CONSOLE-1", 100, 1250, "EUR")
    yield system
    system.http.delete(f"http://127.0.0.1:{system.inventory_port}/chaos", headers=system.auth())
    system.ensure_running()


@pytest.fixture(scope="session")
def browser() -> Browser:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, live) -> Page:
    """A fresh browser profile per test: no cookies from another test."""
    context = browser.new_context(viewport=WIDE, base_url=live.console)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def shots(tmp_path_factory) -> Path:
    folder = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(folder) if folder else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def shoot(shots):
    def save(page: Page, name: str) -> Path:
        path = shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 0
        return path

    return save
