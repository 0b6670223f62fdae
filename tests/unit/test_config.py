import pytest

from shared.config import ConfigError, load_settings


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
        {"INVENTORY_HEDGE_ARMED_S": "0"},
        {"APP_ENV": "staging"},
    ],
)
def test_malformed_or_unsafe_values_are_refused_with_the_variable_named(env):
    with pytest.raises(ConfigError):
        load_settings(env)


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
