"""What the OpenAPI documents say beyond the marshmallow schemas: who may call each operation,
every error it can answer, and which operations follow from which.

A generated client (or schemathesis) should be able to call every operation the first time: so
each operation names its security scheme, lists every status the server can answer with the
error envelope and an example, and links from the operation that creates a resource to those
that read or change it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from apispec import APISpec, BasePlugin

from shared.auth import Role

F = TypeVar("F", bound=Callable[..., Any])

# Users (customers and admins) send the token POST /api/v1/auth/login answers; the order service
# sends its own, audience "inventory"; the chaos API also takes the static ADMIN_TOKEN.
SECURITY_SCHEMES = {
    "userToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "a user's token from POST /api/v1/auth/login (role customer or admin); "
        "the chaos API also accepts the deployment's ADMIN_TOKEN",
    },
    "serviceToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "the order service's own token (role service, audience inventory)",
    },
}

# Every error status the services answer, with its usual code and an example of the envelope.
ERRORS: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: (
        "VALIDATION_ERROR",
        "the request is invalid",
        {
            "fields": {
                "quantity": ["Must be greater than or equal to 1 and less than or equal to 1000."]
            }
        },
    ),
    401: ("UNAUTHENTICATED", "a bearer token is required", {}),
    403: ("FORBIDDEN", "this role may not do that", {}),
    404: ("NOT_FOUND", "no such resource", {}),
    406: ("NOT_ACCEPTABLE", "this API answers application/json only", {}),
    409: ("INVALID_TRANSITION", "order cannot go from SHIPPED to CANCELLED", {}),
    413: ("PAYLOAD_TOO_LARGE", "the body is larger than the service accepts", {}),
    415: ("UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", {}),
    422: ("IDEMPOTENCY_KEY_REUSED", "this Idempotency-Key was used with a different body", {}),
    429: ("RATE_LIMITED", "too many requests; retry after the time given", {}),
    503: ("DATABASE_UNAVAILABLE", "the database is unreachable; retry shortly", {}),
}


def security_for(roles: Iterable[Role]) -> list[dict[str, list[str]]]:
    """The security requirement of an operation open to ``roles`` (any one scheme suffices)."""
    roles = set(roles)
    found: list[dict[str, list[str]]] = []
    if roles & {Role.CUSTOMER, Role.ADMIN}:
        found.append({"userToken": []})
    if Role.SERVICE in roles:
        found.append({"serviceToken": []})
    return found


def document_security(view: F, requirement: list[dict[str, list[str]]]) -> F:
    """Put ``requirement`` into the view's OpenAPI operation (flask-smorest's manual doc)."""
    current = getattr(view, "_apidoc", {})
    manual = {**current.get("manual_doc", {}), "security": requirement}
    view._apidoc = {**current, "manual_doc": manual}  # type: ignore[attr-defined]
    return view


def path_parameter(name: str, pattern: str, description: str) -> dict[str, Any]:
    """A path parameter as the view checks it (the rule alone would say "any string")."""
    return {
        "in": "path",
        "name": name,
        "required": True,
        "description": description,
        "schema": {"type": "string", "pattern": pattern},
    }


def link(operation_ref: str, **parameters: str) -> dict[str, Any]:
    """An OpenAPI link to ``operation_ref`` ("#/paths/~1api~1v1~1orders~1{order_id}/get")."""
    return {"operationRef": operation_ref, "parameters": parameters}


def ref(path: str, method: str) -> str:
    """The JSON pointer of an operation, for ``link``."""
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


class StandardResponses(BasePlugin):
    """Adds to each operation every error status the service can answer it with, and the links
    registered for its responses."""

    def __init__(self, links: Mapping[tuple[str, str, str], Mapping[str, Any]]) -> None:
        self.links = links  # (path, method, status) -> {name: link}

    def init_spec(self, spec: APISpec) -> None:
        super().init_spec(spec)
        for name, scheme in SECURITY_SCHEMES.items():
            spec.components.security_scheme(name, scheme)
        for status, (code, message, details) in ERRORS.items():
            spec.components.response(f"Error{status}", _error_response(code, message, details))

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            # flask-smorest keys its responses by int; the document's JSON by text.
            responses = {str(k): v for k, v in operation.get("responses", {}).items()}
            for code in _statuses(operation, has_path_parameters="{" in (path or "")):
                responses.setdefault(str(code), {"$ref": f"#/components/responses/Error{code}"})
            for status, response in responses.items():
                found = self.links.get((path or "", method, status))
                if found and "$ref" not in response:
                    response["links"] = dict(found)
            operation["responses"] = responses


def _statuses(operation: Mapping[str, Any], *, has_path_parameters: bool) -> list[int]:
    """What any operation of these services can answer beyond what its view documents."""
    statuses = [406, 503]
    if operation.get("requestBody"):
        statuses += [413, 415]
    if operation.get("requestBody") or operation.get("parameters") or has_path_parameters:
        statuses.append(400)
    if has_path_parameters:
        statuses.append(404)
    if operation.get("security"):
        statuses += [401, 403]
    return statuses


def _error_response(code: str, message: str, details: dict[str, Any]) -> dict[str, Any]:
    example = {
        "error": {
            "code": code,
            "message": message,
            "details": details,
            "request_id": "5f0c6a1e9b8d4c2aa3e7f1b2c4d6e8f0",
        }
    }
    return {
        "description": code,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ApiError"},
                "example": example,
            }
        },
    }
