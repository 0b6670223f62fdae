"""What the APIs tell browsers: which other sites' pages may call them (CORS), and how their
answers may be shown (security headers). Both services install it.

Cross-origin calls are allowed only from the origins in ``CORS_ORIGINS`` (none by default: the
console calls the APIs from its server, not from the browser), through flask-cors. Every answer
says it is not to be sniffed, framed or given a referrer; JSON answers may load nothing
(``default-src 'none'``); the interactive docs at ``/docs`` keep what Swagger UI needs. In
production, where a TLS-terminating proxy stands in front, HSTS tells browsers to come back over
HTTPS only.
"""

from __future__ import annotations

from flask import Flask, Response, request
from flask_cors import CORS

from shared.config import Settings

HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
}
JSON_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
DOCS = ("/docs", "/openapi.json")
HSTS = "max-age=31536000; includeSubDomains"
# What a browser script may send and read across origins: the API's own headers.
ALLOW_HEADERS = ["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"]
EXPOSE_HEADERS = [
    "Location",
    "Retry-After",
    "Retry-After-Ms",
    "Idempotent-Replayed",
    "X-Request-ID",
]


def init_browser_policy(app: Flask, settings: Settings) -> None:
    origins = settings.cors_allowed_origins
    if origins:
        CORS(
            app,
            resources={r"/api/*": {"origins": origins}},
            allow_headers=ALLOW_HEADERS,
            expose_headers=EXPOSE_HEADERS,
            supports_credentials=False,  # bearer tokens, never cookies
            max_age=600,
        )
    strict = settings.is_production

    @app.after_request
    def headers(response: Response) -> Response:
        response.headers.update(HEADERS)
        if not request.path.startswith(DOCS):
            response.headers["Content-Security-Policy"] = JSON_POLICY
        if strict:
            response.headers["Strict-Transport-Security"] = HSTS
        return response
