"""What ``APP_ENV=production`` refuses: every setting that leaves a deployment one default away
from open. Each refusal names the variable and how to fix it; all are reported at once."""

from __future__ import annotations

from urllib.parse import urlsplit

from shared.config import (
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_TOKEN,
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDERS_DATABASE_URL,
    DEV_CONSOLE_SECRET,
    DEV_SIGNING_KEY,
    DEV_VERIFY_KEY,
    Settings,
)

# A secret anyone could guess in a day of trying is no secret: 32 random bytes, as
# `python -c 'import secrets; print(secrets.token_urlsafe(32))'` prints.
MIN_SECRET_BYTES = 32
GENERATE = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"
# The passwords of every development setup this project ships (make up, docker-compose.yml, the
# Grafana image): published, so never a production password.
DEV_PASSWORDS = frozenset(
    {
        "orders-dev",
        "inventory-dev",
        "orders-dev-owner",
        "inventory-dev-owner",
        "postgres-dev",
        "postgres",
        "admin",
        DEFAULT_ADMIN_PASSWORD,
        DEFAULT_ADMIN_TOKEN,
        DEV_CONSOLE_SECRET,
    }
)


def secret_problems(variable: str, value: str) -> list[str]:
    if value in DEV_PASSWORDS:
        return [f"{variable} is a development default; set your own ({GENERATE})"]
    if len(value.encode()) < MIN_SECRET_BYTES:
        return [
            f"{variable} is shorter than {MIN_SECRET_BYTES} bytes; use a longer one ({GENERATE})"
        ]
    return []


def _database(variable: str, url: str | None, default: str | None) -> list[str]:
    if url is None or url == default:
        return []  # unset here; the process that needs it refuses the default (database_url)
    password = urlsplit(url).password
    if password is None:
        return []  # no password in the URL: peer, certificate or IAM authentication
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
