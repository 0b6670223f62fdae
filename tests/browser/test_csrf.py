import uuid

from tests.browser.conftest import ADMIN
from tests.browser.pages import log_in, sign_up


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(page, live, shoot):
    sign_up(page, f"csrf-{uuid.uuid4().hex[:8]}@example.com", "a-good-password-1")
    # The browser's own session cookie goes with it: only the form's token is missing.
    answer = page.request.post(
        "/orders/new",
        form={"sku": "CONSOLE-1", "quantity": "1", "idempotency_key": str(uuid.uuid4())},
    )
    assert answer.status == 400
    assert "did not come from this console" in answer.text()
    assert live.http.get(f"{live.orders}/orders", headers=live.auth()).json()["items"] == []
    page.set_content(answer.text())
    shoot(page, "csrf-refused")


def test_a_gremlin_cannot_be_turned_on_from_another_site(page, live):
    log_in(page, *ADMIN)
    answer = page.request.post(
        "/admin/gremlins",
        form={"kind": "crash", "name": "evil"},
        headers={"Origin": "http://evil.example"},
    )
    assert answer.status == 400
    chaos = live.http.get(f"http://127.0.0.1:{live.inventory_port}/chaos", timeout=5).json()
    assert chaos["gremlins"] == []
