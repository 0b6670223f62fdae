import dataclasses
import re
from pathlib import Path

import pytest

from shared.config import LAYOUTS, SETTINGS, VARIABLES, ConfigError, Settings, load_settings
from shared.config.fields import markdown

ROOT = Path(__file__).resolve().parents[2]


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


def _readme_table() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("\n", readme.index("<!-- rendered by `python -m shared.config`")) + 1
    return readme[start : readme.index("<!-- end of the rendered table -->")]


def test_every_field_is_a_declared_setting():
    declared = {s.name for s in SETTINGS}

    assert {f.name for f in dataclasses.fields(Settings)} == declared


def test_the_readme_table_is_the_one_rendered_from_the_declarations():
    assert _readme_table() == markdown(SETTINGS)


def test_the_readme_names_exactly_the_variables_read_and_their_defaults():
    rows = re.findall(r"^\| `([A-Z0-9_]+)` \| (.*?) \| .* \|$", _readme_table(), re.M)
    by_variable = {s.variable: s for s in SETTINGS}
    defaults = Settings()

    assert {variable for variable, _ in rows} == VARIABLES
    for variable, shown in rows:
        setting = by_variable[variable]
        if setting.declared.shown is None and setting.default is not None:
            # A plain default reads back, through the variable's own parser, as the field's.
            assert setting.parse(shown.strip("`")) == getattr(defaults, setting.name), variable


def test_a_layout_default_in_the_readme_is_the_measured_layout():
    table = _readme_table()
    for service in ("orders", "inventory"):
        layout = LAYOUTS[service]
        for variable, value in (
            ("WEB_WORKERS", layout.workers),
            ("WEB_THREADS", layout.threads),
            ("DB_POOL_SIZE", layout.pool_size),
        ):
            row = next(line for line in table.splitlines() if line.startswith(f"| `{variable}`"))
            assert f"{service} {value}" in row, variable


def test_test_mode_listens_on_this_machine_only():
    # Test mode runs with every development secret: it must not be reachable from elsewhere.
    assert load_settings({"APP_ENV": "test"}).order_bind == "127.0.0.1:3001"
    for variable in ("ORDER_BIND", "INVENTORY_BIND", "CONSOLE_BIND", "PAYMENTS_PROVIDER_BIND"):
        with pytest.raises(ConfigError, match=f"{variable}=0.0.0.0:9999"):
            load_settings({"APP_ENV": "test", variable: "0.0.0.0:9999"})
    assert load_settings({"APP_ENV": "development", "ORDER_BIND": "0.0.0.0:3001"})
