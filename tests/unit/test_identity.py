"""Who an account is: one address per person whatever Unicode does, and passwords a guesser
would not try early."""

from __future__ import annotations

import marshmallow as ma
import pytest

from order_service.accounts.identity import WeakPassword, check_password, normal_email
from order_service.schemas import SignupSchema


@pytest.mark.parametrize(
    "password",
    ["aaaaaaaaaa", "password12", " " * 10, "qwertyuiop", "1234567890", "alice@example.com1"],
)
def test_a_password_a_guesser_tries_early_is_refused_with_advice(password):
    with pytest.raises(WeakPassword) as refused:
        check_password(password, "alice@example.com", 3)
    assert refused.value.details["fields"]["password"]  # zxcvbn's words, per field


@pytest.mark.parametrize(
    "password",
    [
        "a-good-password-1",
        "correct horse battery staple",
        # 97 characters: zxcvbn judges the first 72 (it refuses longer input).
        "the-quick-brown-fox-jumps-over-the-lazy-dog-while-7-zebras-sing-opera-at-dawn-in-2026-quietly-ok",
    ],
)
def test_a_password_nobody_guesses_early_passes(password):
    check_password(password, "alice@example.com", 3)


def test_the_addresses_that_display_alike_are_one():
    full_width = "\uff21\uff24\uff2d\uff29\uff2e@example.com"  # ADMIN in full-width letters
    assert normal_email(full_width) == "admin@example.com"
    assert normal_email(" Admin@Example.COM ") == "admin@example.com"


@pytest.mark.parametrize(
    "email",
    [
        "admin@example.com\u200b",  # zero-width space after it: displays as the admin's
        "ad\u200dmin@example.com",  # zero-width joiner inside
        "\u202eadmin@example.com",  # right-to-left override
        "\uff41\uff44\uff4d\uff49\uff4e@example.com",  # full-width look-alike
    ],
)
def test_a_new_address_with_an_invisible_or_look_alike_character_is_refused(email):
    with pytest.raises(ma.ValidationError) as refused:
        SignupSchema().load({"email": email, "password": "a-good-password-1"})
    assert "email" in refused.value.messages
