import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
)

from shared.config import DEV_SIGNING_KEY, DEV_VERIFY_KEY, ConfigError, load_settings

_KEY = Ed25519PrivateKey.generate()
SAFE_PRODUCTION = {
    "APP_ENV": "production",
    "ADMIN_TOKEN": "a-long-enough-secret-token",
    "ADMIN_PASSWORD": "a-real-admin-password",
    "AUTH_SIGNING_KEY": _KEY.private_bytes(
        Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
    ).decode(),
    "AUTH_VERIFY_KEY": _KEY.public_key()
    .public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    .decode(),
    "ORDERS_DATABASE_URL": "postgresql+psycopg://o:secret@db/orders",
    "INVENTORY_DATABASE_URL": "postgresql+psycopg://i:secret@db/inventory",
}


def test_defaults_run_locally_with_the_design_values():
    settings = load_settings({})

    assert settings.inventory_read_timeout_s == 5.0
    assert settings.inventory_retry_attempts == 5
    assert settings.order_reserve_deadline_s == 6.0
    assert settings.breaker_failure_rate == 0.5
    assert (settings.breaker_window_size, settings.breaker_min_calls) == (20, 10)
    assert (settings.breaker_fail_max, settings.breaker_reset_timeout_s) == (0, 10.0)
    assert settings.inventory_max_concurrency == 16
    assert settings.chaos_enabled is False


def test_values_come_from_the_environment_with_their_types():
    settings = load_settings(
        {"INVENTORY_READ_TIMEOUT_S": "2.5", "CHAOS_ENABLED": "yes", "BREAKER_FAIL_MAX": "7"}
    )

    assert (settings.inventory_read_timeout_s, settings.chaos_enabled) == (2.5, True)
    assert settings.breaker_fail_max == 7


@pytest.mark.parametrize(
    "env",
    [
        {"BREAKER_FAIL_MAX": "many"},
        {"BREAKER_FAIL_MAX": "-1"},
        {"BREAKER_FAILURE_RATE": "0"},
        {"BREAKER_FAILURE_RATE": "1.5"},
        {"BREAKER_WINDOW_SIZE": "5", "BREAKER_MIN_CALLS": "6"},
        {"CHAOS_ENABLED": "perhaps"},
        {"INVENTORY_READ_TIMEOUT_S": "0"},
        {"APP_ENV": "staging"},
    ],
)
def test_malformed_or_unsafe_values_are_refused_with_the_variable_named(env):
    with pytest.raises(ConfigError):
        load_settings(env)


def test_production_accepts_real_secrets():
    assert load_settings(SAFE_PRODUCTION).is_production


@pytest.mark.parametrize(
    "override",
    [
        {"ADMIN_TOKEN": ""},
        {"ADMIN_TOKEN": "short"},
        {"ORDERS_DATABASE_URL": ""},
        {"INVENTORY_DATABASE_URL": ""},
        {"CHAOS_ENABLED": "true"},
        {"INVENTORY_CLIENT": "bare"},
        {"AUTH_SIGNING_KEY": DEV_SIGNING_KEY},
        {"AUTH_VERIFY_KEY": DEV_VERIFY_KEY},
        {"ADMIN_PASSWORD": "dev-admin-password"},
    ],
)
def test_production_refuses_default_secrets_and_chaos(override):
    with pytest.raises(ConfigError):
        load_settings({**SAFE_PRODUCTION, **override})


def test_each_service_has_its_own_process_layout_unless_one_is_set():
    defaults = load_settings({})
    chosen = load_settings({"WEB_WORKERS": "3", "WEB_THREADS": "5", "DB_POOL_SIZE": "7"})

    assert defaults.layout("orders") != defaults.layout("inventory")
    assert defaults.layout("inventory").workers > defaults.layout("orders").workers
    for service in ("orders", "inventory"):
        layout = defaults.layout(service)
        assert 2 * layout.pool_size >= layout.threads  # pool plus overflow serves every thread
        assert (chosen.layout(service).workers, chosen.layout(service).threads) == (3, 5)
        assert chosen.layout(service).pool_size == 7
