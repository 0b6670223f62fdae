"""The provider over HTTP: one request per call (``HttpPayments``), and the same calls under
the resilience layer (``ResilientPayments``: the one ``Policy`` every dependency goes through).

Every call carries an Idempotency-Key the caller chose (the order for a payment, the payment
for a refund), so a retry after no answer cannot pay or refund twice.
"""

from __future__ import annotations

from typing import Any

import requests
from requests.adapters import HTTPAdapter

from order_service.payments.port import Intent, PaymentsRefused, PaymentsUnavailable, RefundReply
from shared.forks import renew_after_fork
from shared.resilience.failures import Reason, retry_after_header
from shared.resilience.policy import Policy


class HttpPayments:
    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        connect_timeout_s: float,
        read_timeout_s: float,
        pool_size: int = 8,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/v1"
        self.connect_timeout_s, self.read_timeout_s = connect_timeout_s, read_timeout_s
        self.session = requests.Session()
        self.session.trust_env = False  # a peer we name, never reached through a proxy
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Authorization"] = f"Bearer {api_key}"
        renew_after_fork(self.session, lambda session: session.close())

    def create(
        self,
        *,
        key: str,
        amount_cents: int,
        currency: str,
        reference: str,
        return_url: str | None,
        timeout_s: float | None = None,
    ) -> Intent:
        body = {
            "amount_cents": amount_cents,
            "currency": currency,
            "reference": reference,
            "return_url": return_url,
        }
        data = self._call("/payment_intents", body, key, timeout_s)
        return Intent(
            data["id"], data["amount_cents"], data["currency"], data["status"], data["pay_url"]
        )

    def refund(self, payment_id: str, *, key: str, timeout_s: float | None = None) -> RefundReply:
        data = self._call("/refunds", {"payment_intent": payment_id}, key, timeout_s)
        return RefundReply(data["id"], data["payment_intent"], data["amount_cents"])

    def available(self) -> bool:
        return True

    def _call(
        self, path: str, body: dict[str, Any], key: str, timeout_s: float | None
    ) -> dict[str, Any]:
        read = self.read_timeout_s if timeout_s is None else min(self.read_timeout_s, timeout_s)
        try:
            response = self.session.post(
                self.base_url + path,
                json=body,
                headers={"Idempotency-Key": key},
                timeout=(min(self.connect_timeout_s, read), read),
            )
        except requests.Timeout as exc:
            raise PaymentsUnavailable(Reason.TIMEOUT, str(exc)) from exc
        except requests.RequestException as exc:
            raise PaymentsUnavailable(Reason.CONNECTION, str(exc)) from exc
        status = response.status_code
        if status in (401, 403):
            raise PaymentsUnavailable(Reason.UNAUTHORISED, f"HTTP {status}")
        try:
            data = response.json()
        except ValueError:
            data = None
        if status >= 500 or status == 429 or not isinstance(data, dict):
            raise PaymentsUnavailable(
                Reason.SERVER_ERROR,
                f"HTTP {status}",
                status=status,
                retry_after_s=retry_after_header(response.headers),
            )
        if status >= 400:
            error = data.get("error", {})
            raise PaymentsRefused(status, error.get("code", "UNKNOWN"), error.get("message", ""))
        return data


class ResilientPayments:
    """``HttpPayments`` with a deadline, retries, a breaker and a bulkhead of its own."""

    def __init__(self, inner: HttpPayments, policy: Policy) -> None:
        self.inner, self.policy = inner, policy

    def create(
        self,
        *,
        key: str,
        amount_cents: int,
        currency: str,
        reference: str,
        return_url: str | None,
        timeout_s: float | None = None,
    ) -> Intent:
        return self.policy.call(
            "create_payment",
            lambda t: self.inner.create(
                key=key,
                amount_cents=amount_cents,
                currency=currency,
                reference=reference,
                return_url=return_url,
                timeout_s=t,
            ),
            timeout_s,
        )

    def refund(self, payment_id: str, *, key: str, timeout_s: float | None = None) -> RefundReply:
        return self.policy.call(
            "refund", lambda t: self.inner.refund(payment_id, key=key, timeout_s=t), timeout_s
        )

    def available(self) -> bool:
        return self.policy.available()
