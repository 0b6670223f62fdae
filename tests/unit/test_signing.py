"""Webhook signatures: what is accepted and what is refused (Stripe's scheme)."""

from __future__ import annotations

import pytest

from shared import signing

BODY = b'{"id":"evt_1","type":"payment_intent.succeeded"}'
NOW = 1_800_000_000


def _verify(header: str | None, body: bytes = BODY, secrets=("s-new",), now: float = NOW):
    return signing.verify(header, body, list(secrets), now=now, tolerance_s=300)


def test_a_fresh_signature_under_a_current_secret_is_accepted():
    assert _verify(signing.header(["s-new"], NOW - 10, BODY)) == NOW - 10


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "missing"),
        ("", "missing"),
        ("sha256=abc", "malformed"),
        (f"t={NOW}", "malformed"),
        (f"t=soon,sha256={'0' * 64}", "malformed"),
        (f"t={NOW},sha256={'0' * 64}", "mismatch"),
    ],
)
def test_malformed_or_missing_headers_are_refused(header, reason):
    with pytest.raises(signing.SignatureInvalid) as refused:
        _verify(header)
    assert refused.value.reason == reason


def test_a_signature_older_or_newer_than_the_tolerance_is_refused():
    for stamp in (NOW - 301, NOW + 301):
        with pytest.raises(signing.SignatureInvalid) as refused:
            _verify(signing.header(["s-new"], stamp, BODY))
        assert refused.value.reason == "expired"


def test_a_wrong_secret_is_refused():
    with pytest.raises(signing.SignatureInvalid) as refused:
        _verify(signing.header(["someone-elses"], NOW, BODY))
    assert refused.value.reason == "mismatch"


def test_a_body_altered_by_one_byte_is_refused():
    header = signing.header(["s-new"], NOW, BODY)
    altered = BODY.replace(b"evt_1", b"evt_2")
    assert len(altered) == len(BODY) and altered != BODY
    with pytest.raises(signing.SignatureInvalid):
        _verify(header, altered)


def test_during_a_rotation_either_secret_verifies():
    # The sender signs with both; a receiver that knows only one of them accepts.
    both = signing.header(["s-old", "s-new"], NOW, BODY)
    assert _verify(both, secrets=("s-new",)) == NOW
    assert _verify(both, secrets=("s-old",)) == NOW
    # A receiver that lists both accepts a sender that has moved on to the new one.
    assert _verify(signing.header(["s-new"], NOW, BODY), secrets=("s-old", "s-new")) == NOW
    with pytest.raises(signing.SignatureInvalid):
        _verify(signing.header(["s-old"], NOW, BODY), secrets=("s-newer",))
