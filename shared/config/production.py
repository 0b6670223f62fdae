"""What ``APP_ENV=production`` refuses: every setting that leaves a deployment one default away
from open. Each refusal names the variable and how to fix it; all are reported at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.config.defaults import (
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDERS_DATABASE_URL,
    DEV_PASSWORDS,
    DEV_SIGNING_KEY,
    DEV_VERIFY_KEY,
    GENERATE,
    MIN_SECRET_BYTES,
    secret_problems,
)
from shared.config.settings import Settings


def _database(variable: str, url: str | None, default: str | None) -> list[str]:
    if url is None or url == default:
        return []  # unset here; the process that needs it refuses the default (database_url)
    password = urlsplit(url).password
    if password is None:
        return []  # no password in the URL: peer, certificate, IAM, or PGPASSWORD (below)
    return _password(variable, password)


def _password(variable: str, password: str) -> list[str]:
    if password in DEV_PASSWORDS:
        return [f"{variable} holds a development password; give the role its own password"]
    if len(password.encode()) < MIN_SECRET_BYTES:
        return [f"{variable}: the password is shorter than {MIN_SECRET_BYTES} bytes ({GENERATE})"]
    return []


def refusals(settings: Settings) -> list[str]:
    """Everything wrong with ``settings`` for production; empty when it may start."""
    found = [
        *secret_problems("ADMIN_TOKEN", settings.admin_token),
        *secret_problems("ADMIN_PASSWORD", settings.admin_password),
        *_database(
            "ORDERS_DATABASE_URL", settings.orders_database_url, DEFAULT_ORDERS_DATABASE_URL
        ),
        *_database(
            "INVENTORY_DATABASE_URL",
            settings.inventory_database_url,
            DEFAULT_INVENTORY_DATABASE_URL,
        ),
        *_database("ORDERS_OWNER_DATABASE_URL", settings.orders_owner_database_url, None),
        *_database("INVENTORY_OWNER_DATABASE_URL", settings.inventory_owner_database_url, None),
    ]
    if settings.pgpassword is not None:
        found += _password("PGPASSWORD", settings.pgpassword)
    if settings.console_forward_key is not None:
        found += secret_problems("CONSOLE_FORWARD_KEY", settings.console_forward_key)
    if settings.grafana_admin_password is not None:
        found += secret_problems("GRAFANA_ADMIN_PASSWORD", settings.grafana_admin_password)
    if settings.chaos_enabled:
        found.append("CHAOS_ENABLED is on; fault injection never runs in production (unset it)")
    if settings.auth_signing_key == DEV_SIGNING_KEY or settings.auth_verify_key == DEV_VERIFY_KEY:
        found.append(
            "AUTH_SIGNING_KEY / AUTH_VERIFY_KEY are the published development key pair; "
            "generate your own Ed25519 pair (openssl genpkey -algorithm ed25519)"
        )
    if settings.inventory_client != "resilient":
        found.append("INVENTORY_CLIENT=bare is for measurements only; unset it")
    return found
