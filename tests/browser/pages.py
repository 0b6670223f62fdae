"""What the browser tests do on the console's pages, written once."""

from __future__ import annotations

from playwright.sync_api import Page, expect


def _account_form(page: Page, path: str, email: str, password: str, button: str) -> None:
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=button).click()


def sign_up(page: Page, email: str, password: str) -> None:
    _account_form(page, "/signup", email, password, "Create my account")
    expect(page.get_by_role("heading", name="Place an order")).to_be_visible()


def log_in(page: Page, email: str, password: str) -> None:
    _account_form(page, "/login", email, password, "Log in")
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def place_order(page: Page, lines: list[tuple[str, int]]) -> str:
    """Fill the order form and send it; the order's id from the page it lands on."""
    page.goto("/orders/new")
    for row, (sku, quantity) in enumerate(lines):
        if row >= page.locator("li.line").count():
            page.get_by_role("button", name="Add a line").click()
        page.locator(f"#sku-{row}").fill(sku)
        page.locator(f"#quantity-{row}").fill(str(quantity))
    page.get_by_role("button", name="Place the order").click()
    page.wait_for_url("**/orders/*-*")
    return page.url.rsplit("/", 1)[1]


def order_status(page: Page):  # type: ignore[no-untyped-def]
    return page.locator("#order-panel [data-status]")


def unlabelled_controls(page: Page) -> list[str]:
    """Every visible control without a label (or an aria-label) on the page."""
    return page.evaluate(
        """() => [...document.querySelectorAll(
                'input:not([type=hidden]), select, textarea, button')]
            .filter(el => !el.hidden && el.offsetParent !== null)
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !(el.tagName === 'BUTTON' && el.textContent.trim()))
            .map(el => el.outerHTML)"""
    )


def overflows(page: Page) -> bool:
    """Does the page scroll sideways as a whole (wide tables scroll inside their own box)?"""
    return bool(page.evaluate("() => document.documentElement.scrollWidth > window.innerWidth"))
