"""OpenAPI document and browsable docs, generated from the marshmallow schemas by flask-smorest.

Validation failures become ``RequestInvalid`` (400 ``VALIDATION_ERROR`` with per-field messages)
instead of flask-smorest's default 422, so bad input looks the same on every endpoint.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NoReturn

import flask_smorest
import marshmallow as ma
from flask import Flask, Response, send_from_directory
from swagger_ui_bundle import swagger_ui_path
from webargs.flaskparser import FlaskParser

from shared.errors import RequestInvalid
from shared.openapi import StandardResponses
from shared.schemas import ApiErrorSchema

# Swagger UI's files come from a pinned package and are served by the service itself: the docs
# work offline, and no third party's script runs on the service's origin.
SWAGGER_UI_URL = "/docs/assets/"


class _Parser(FlaskParser):
    DEFAULT_VALIDATION_STATUS = 400  # documented as the status it is, not 422

    def handle_error(
        self, error: ma.ValidationError, req: Any, schema: ma.Schema, **kwargs: Any
    ) -> NoReturn:
        messages = error.messages
        # webargs nests messages under the location ("json", "query", ...): flatten that level.
        if isinstance(messages, dict) and len(messages) == 1:
            (only,) = messages.values()
            if isinstance(only, dict):
                messages = only
        raise RequestInvalid("the request is invalid", {"fields": messages})

    def _handle_invalid_json_error(
        self, error: json.JSONDecodeError | UnicodeDecodeError, req: Any, *a: Any, **k: Any
    ) -> NoReturn:
        raise RequestInvalid("the body is not valid JSON", {"fields": {"body": [str(error)]}})


class Blueprint(flask_smorest.Blueprint):  # type: ignore[misc]
    """A flask-smorest blueprint whose validation errors use the unified error body."""

    ARGUMENTS_PARSER = _Parser()


class Api(flask_smorest.Api):  # type: ignore[misc]
    """Documents every error response with the unified error body."""

    ERROR_SCHEMA = ApiErrorSchema


def init_api(
    app: Flask,
    title: str,
    description: str,
    links: Mapping[tuple[str, str, str], Mapping[str, Any]] | None = None,
    *,
    serve: bool = True,
) -> flask_smorest.Api:
    """Serve ``/openapi.json`` and the docs at ``/docs`` (unless ``serve`` is False: the
    document is still built, for the tests and tools, but no route answers it); ``links`` are
    the OpenAPI links of the responses, by (path, method, status)."""
    app.config.update(
        API_TITLE=title,
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/" if serve else None,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=SWAGGER_UI_URL,
        API_SPEC_OPTIONS={"info": {"description": description}},
    )
    if serve:
        app.add_url_rule(SWAGGER_UI_URL + "<path:filename>", "swagger_ui_assets", _swagger_ui_asset)
    return Api(app, spec_kwargs={"extra_plugins": [StandardResponses(links or {})]})


def _swagger_ui_asset(filename: str) -> Response:
    return send_from_directory(str(swagger_ui_path), filename, max_age=86400)
