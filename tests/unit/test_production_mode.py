"""``APP_ENV=production`` refuses every unsafe setting, naming it and the fix; a complete
production configuration loads (and starts: tests/e2e/test_production_start.py)."""

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from shared.config import DEV_SIGNING_KEY, DEV_VERIFY_KEY, ConfigError, load_settings

SECRET = "k" * 40
_KEY = Ed25519PrivateKey.generate()
SAFE_PRODUCTION = {
    "APP_ENV": "production",
    "ADMIN_TOKEN": SECRET,
    "ADMIN_PASSWORD": SECRET,
    "AUTH_SIGNING_KEY": _KEY.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    ).decode(),
    "AUTH_VERIFY_KEY": _KEY.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode(),
    "ORDERS_DATABASE_URL": f"postgresql+psycopg://orders:{SECRET}@db/orders",
    "INVENTORY_DATABASE_URL": f"postgresql+psycopg://inventory:{SECRET}@db/inventory",
    "ORDERS_OWNER_DATABASE_URL": f"postgresql+psycopg://orders_owner:{SECRET}@db/orders",
    "INVENTORY_OWNER_DATABASE_URL": f"postgresql+psycopg://inventory_owner:{SECRET}@db/inventory",
    "GRAFANA_ADMIN_PASSWORD": SECRET,
    "PAYMENTS_API_KEY": SECRET,
    "PAYMENT_WEBHOOK_SECRETS": SECRET,
}


def test_a_complete_production_configuration_loads():
    settings = load_settings(SAFE_PRODUCTION)

    assert settings.is_production and settings.chaos_enabled is False
    assert settings.database_url("orders") == SAFE_PRODUCTION["ORDERS_DATABASE_URL"]
    assert settings.owner_database_url("inventory").startswith(
        "postgresql+psycopg://inventory_owner"
    )


def test_each_service_needs_only_its_own_database_url():
    inventory_only = {k: v for k, v in SAFE_PRODUCTION.items() if not k.startswith("ORDERS_")}
    settings = load_settings(inventory_only)

    assert settings.database_url("inventory") == SAFE_PRODUCTION["INVENTORY_DATABASE_URL"]
    with pytest.raises(ConfigError, match="ORDERS_DATABASE_URL: production needs it set"):
        settings.database_url("orders")


@pytest.mark.parametrize(
    ("override", "named", "fix"),
    [
        ({"ADMIN_TOKEN": "dev-admin-token"}, "ADMIN_TOKEN", "secrets.token_urlsafe"),
        ({"ADMIN_TOKEN": "s" * 31}, "ADMIN_TOKEN", "shorter than 32 bytes"),
        ({"ADMIN_PASSWORD": "dev-admin-password"}, "ADMIN_PASSWORD", "development default"),
        ({"ADMIN_PASSWORD": "correct horse"}, "ADMIN_PASSWORD", "shorter than 32 bytes"),
        (
            {"ORDERS_DATABASE_URL": "postgresql+psycopg://orders:orders-dev@db/orders"},
            "ORDERS_DATABASE_URL",
            "development password",
        ),
        (
            {"INVENTORY_OWNER_DATABASE_URL": "postgresql+psycopg://x:inventory-dev-owner@db/i"},
            "INVENTORY_OWNER_DATABASE_URL",
            "development password",
        ),
        (
            {"INVENTORY_DATABASE_URL": "postgresql+psycopg://inventory:short@db/inventory"},
            "INVENTORY_DATABASE_URL",
            "shorter than 32 bytes",
        ),
        ({"CHAOS_ENABLED": "true"}, "CHAOS_ENABLED", "unset it"),
        ({"AUTH_SIGNING_KEY": DEV_SIGNING_KEY}, "AUTH_SIGNING_KEY", "openssl genpkey"),
        ({"AUTH_VERIFY_KEY": DEV_VERIFY_KEY}, "AUTH_VERIFY_KEY", "openssl genpkey"),
        ({"GRAFANA_ADMIN_PASSWORD": "admin"}, "GRAFANA_ADMIN_PASSWORD", "development default"),
        ({"INVENTORY_CLIENT": "bare"}, "INVENTORY_CLIENT", "unset it"),
        (
            {"CONSOLE_FORWARD_KEY": "dev-console-forward-key"},
            "CONSOLE_FORWARD_KEY",
            "development default",
        ),
        ({"CONSOLE_FORWARD_KEY": "k" * 31}, "CONSOLE_FORWARD_KEY", "shorter than 32 bytes"),
        # A URL without a password and libpq's PGPASSWORD: the development password comes in
        # that way as surely as in the URL.
        ({"PGPASSWORD": "orders-dev"}, "PGPASSWORD", "development password"),
        ({"PGPASSWORD": "p" * 12}, "PGPASSWORD", "shorter than 32 bytes"),
    ],
)
def test_each_unsafe_setting_is_refused_by_name_with_the_fix(override, named, fix):
    with pytest.raises(ConfigError) as refused:
        load_settings({**SAFE_PRODUCTION, **override})

    assert named in str(refused.value) and fix in str(refused.value)


def test_every_refusal_is_reported_at_once():
    with pytest.raises(ConfigError) as refused:
        load_settings({"APP_ENV": "production", "CHAOS_ENABLED": "true"})

    message = str(refused.value)
    for variable in ("ADMIN_TOKEN", "ADMIN_PASSWORD", "CHAOS_ENABLED", "AUTH_SIGNING_KEY"):
        assert variable in message


def test_development_keeps_its_defaults():
    settings = load_settings({})

    assert settings.database_url("orders").startswith("postgresql+psycopg://orders:orders-dev@")
    assert settings.owner_database_url("orders") == settings.database_url("orders")


@pytest.mark.parametrize(
    ("override", "ask", "named"),
    [
        ({"PAYMENTS_API_KEY": "dev-payments-api-key"}, "payments_key", "PAYMENTS_API_KEY"),
        ({"PAYMENTS_API_KEY": "k" * 31}, "payments_key", "PAYMENTS_API_KEY"),
        ({"PAYMENT_WEBHOOK_SECRETS": "dev-webhook-secret"}, "webhook_secrets", "PAYMENT_WEBHOOK"),
        # During a rotation both listed secrets must be real ones.
        ({"PAYMENT_WEBHOOK_SECRETS": f"{SECRET},short"}, "webhook_secrets", "PAYMENT_WEBHOOK"),
        ({"PAYMENT_WEBHOOK_SECRETS": " , "}, "webhook_secrets", "PAYMENT_WEBHOOK"),
    ],
)
def test_the_payment_secrets_are_refused_where_they_are_used(override, ask, named):
    # Inventory never uses them, so it starts without them; the processes that sign, verify or
    # call the provider refuse the defaults when they ask.
    settings = load_settings({**SAFE_PRODUCTION, **override})
    with pytest.raises(ConfigError, match=named):
        value = getattr(settings, ask)
        value() if callable(value) else value


def test_a_rotation_lists_both_secrets():
    settings = load_settings(
        {**SAFE_PRODUCTION, "PAYMENT_WEBHOOK_SECRETS": f"{SECRET}, {'n' * 40}"}
    )

    assert settings.webhook_secrets == [SECRET, "n" * 40]
