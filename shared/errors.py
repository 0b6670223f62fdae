"""Typed errors of the domain and service layers, free of any HTTP knowledge.

Each service maps these classes to a status and a machine-readable code in one place
(``ERRORS`` in its web module); ``shared.web`` turns them into the unified error body.
"""

from __future__ import annotations

from typing import Any


def envelope(
    code: str, message: str, details: dict[str, Any] | None, request_id: str
) -> dict[str, Any]:
    """The one error body of every service: ``{"error": {code, message, details, request_id}}``."""
    return {
        "error": {
            "code": code,
            "message": message,
            "details": dict(details or {}),
            "request_id": request_id,
        }
    }


class DomainError(Exception):
    """Base of every expected failure: a message for people, details for programs."""

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class RequestInvalid(DomainError):
    """The request failed validation; ``details`` holds the messages per field."""


class NotFound(DomainError):
    """The addressed resource does not exist."""


class Conflict(DomainError):
    """The request conflicts with the current state of the resource."""


class Unauthenticated(DomainError):
    """No credentials were given for an operation that needs them."""


class Forbidden(DomainError):
    """The credentials do not allow this operation (or it is switched off)."""


class Unprocessable(DomainError):
    """Each part of the request is well formed, but together they make no sense (a 422, where
    a part that breaks the document is a 400)."""


class Overloaded(DomainError):
    """The process has no room for this work now; nothing was done, try again shortly."""

    def __init__(self, message: str, *, retry_after_s: int) -> None:
        super().__init__(message, {"retry_after_s": retry_after_s})
        self.retry_after_s = retry_after_s


class InvalidTransition(Conflict):
    """A state change that the state machine does not allow."""

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(
            f"{entity} cannot go from {current} to {target}",
            {"current_status": current, "requested_status": target},
        )


class RateLimited(DomainError):
    """Too many requests from this caller; ``retry_after_s`` says when to come back."""

    def __init__(self, message: str, details: dict[str, Any], retry_after_s: int) -> None:
        super().__init__(message, details)
        self.retry_after_s = retry_after_s
