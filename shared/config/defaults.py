"""The development defaults, and what makes a secret one that production refuses.

The defaults let ``make up`` run with nothing set; all of them are published here, so production
mode refuses each of them (``shared.config.production``).
"""

from __future__ import annotations

# Local development credentials: the throwaway cluster that ``make up`` provisions uses these.
DEFAULT_ORDERS_DATABASE_URL = "postgresql+psycopg://orders:orders-dev@127.0.0.1:5433/orders"
DEFAULT_INVENTORY_DATABASE_URL = (
    "postgresql+psycopg://inventory:inventory-dev@127.0.0.1:5433/inventory"
)
# The provider stand-in creates its own tables: it connects as its database's owner.
DEFAULT_PAYMENTS_DATABASE_URL = (
    "postgresql+psycopg://payments_owner:payments-dev-owner@127.0.0.1:5433/payments"
)
DEFAULT_PAYMENTS_API_KEY = "dev-payments-api-key"
DEFAULT_WEBHOOK_SECRET = "dev-webhook-secret"
DEFAULT_ADMIN_TOKEN = "dev-admin-token"
# A signing key for local development only: anyone can read it here, so production refuses it.
DEV_SIGNING_KEY = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJIUwSnthb+YdCyekkXvZWzhZxBY7OxCDq1CwIbiOT/+\n"
    "-----END PRIVATE KEY-----\n"
)
DEV_VERIFY_KEY = (
    "-----BEGIN PUBLIC KEY-----\n"
    "MCowBQYDK2VwAyEA1mGvGnS0vZ3F4ZceLSuxgRxWUUQVg1hF6+zIPwyXXN4=\n"
    "-----END PUBLIC KEY-----\n"
)
DEV_CONSOLE_SECRET = "dev-console-secret"
DEV_CONSOLE_FORWARD_KEY = "dev-console-forward-key"  # docker-compose.yml's default
DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEFAULT_ADMIN_PASSWORD = "dev-admin-password"
# Generous enough for people, tight enough for a password-guessing script; "N/period" strings
# as flask-limiter reads them, several separated by ";".
DEFAULT_ORDER_LIMIT = "30/second;600/minute"
DEFAULT_AUTH_LIMIT = "10/minute;100/hour"

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
        "payments-dev",
        "payments-dev-owner",
        DEFAULT_PAYMENTS_API_KEY,
        DEFAULT_WEBHOOK_SECRET,
        "postgres-dev",
        "postgres",
        "admin",
        DEFAULT_ADMIN_PASSWORD,
        DEFAULT_ADMIN_TOKEN,
        DEV_CONSOLE_SECRET,
        DEV_CONSOLE_FORWARD_KEY,
    }
)


def secret_problems(variable: str, value: str) -> list[str]:
    """Why ``value`` is no production secret (published, or too short); empty when it is one."""
    if value in DEV_PASSWORDS:
        return [f"{variable} is a development default; set your own ({GENERATE})"]
    if len(value.encode()) < MIN_SECRET_BYTES:
        return [
            f"{variable} is shorter than {MIN_SECRET_BYTES} bytes; use a longer one ({GENERATE})"
        ]
    return []
