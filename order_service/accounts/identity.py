"""What an account is known by and guarded with: one normal form per email address, and a
password a guesser would not try early.

New addresses are printable ASCII (``shared.schemas.EMAIL_PATTERN``), so none can hide an
invisible character or a look-alike letter; every address given (at login too) is compared in
Unicode NFKC, lower-cased, so the admin's address in full-width letters logs in as the admin,
never as someone else. Passwords are judged by zxcvbn, the estimator password managers use: it knows
common passwords, words, names, keyboard walks, repeats and dates, and the account's own email,
so ``aaaaaaaaaa``, ``password12`` or ten spaces are refused whatever their length.
"""

from __future__ import annotations

import unicodedata

from zxcvbn import zxcvbn

from shared.errors import Unprocessable


def normal_email(raw: str) -> str:
    """The one form an address is stored, looked up and limited by."""
    return unicodedata.normalize("NFKC", raw).strip().lower()


JUDGED = 72


class WeakPassword(Unprocessable):
    """The password is one a guesser would try early; nothing was stored."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("choose a stronger password", {"fields": {"password": reasons}})


def check_password(password: str, email: str, min_score: int) -> None:
    """``WeakPassword`` with zxcvbn's own advice when the password scores below ``min_score``
    (0 to 4; 3 is "safely unguessable: moderate protection from an offline attack")."""
    local, _, domain = email.partition("@")
    # Only the first 72 characters are judged (zxcvbn's own bound: its work grows with the
    # length, and it refuses longer input); a password longer than that is long enough.
    verdict = zxcvbn(password[:JUDGED], user_inputs=[email, local, domain])
    if verdict["score"] >= min_score:
        return
    feedback = verdict["feedback"]
    reasons = [feedback["warning"]] if feedback.get("warning") else []
    reasons += list(feedback.get("suggestions") or [])
    raise WeakPassword(reasons or ["too easy to guess"])
