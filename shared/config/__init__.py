"""Settings for every process, read from the environment in this one place.

Nothing else in the project reads ``os.environ``: the app factories, the reconciler, the tools and
the tests all receive a frozen ``Settings``. Each setting is declared once, on its field
(``settings.py``); the variable, the parser, the bounds and the README's row derive from there.
The defaults run the system locally with ``make up``; production mode (``APP_ENV=production``)
refuses the default secrets and keeps chaos off (``production.py``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from shared.config import fields
from shared.config.defaults import (
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDERS_DATABASE_URL,
    DEFAULT_PAYMENTS_DATABASE_URL,
    DEV_SIGNING_KEY,
    DEV_VERIFY_KEY,
)
from shared.config.fields import ConfigError
from shared.config.production import refusals
from shared.config.settings import LAYOUTS, Layout, Settings

SETTINGS = tuple(fields.declared(Settings))
# Every environment variable the project reads: compose, Kubernetes and the README name no other.
VARIABLES = frozenset(s.variable for s in SETTINGS)

__all__ = [
    "DEFAULT_INVENTORY_DATABASE_URL",
    "DEFAULT_ORDERS_DATABASE_URL",
    "DEFAULT_PAYMENTS_DATABASE_URL",
    "DEV_SIGNING_KEY",
    "DEV_VERIFY_KEY",
    "LAYOUTS",
    "SETTINGS",
    "VARIABLES",
    "ConfigError",
    "Layout",
    "Settings",
    "load_settings",
    "validate",
]


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
BINDS = (
    "order_bind",
    "inventory_bind",
    "console_bind",
    "reconciler_metrics_bind",
    "payments_provider_bind",
    "front_agent_bind",
)


def test_mode_exposures(settings: Settings) -> list[str]:
    """Every listener of test mode that is not on the loopback interface."""
    found = []
    for name in BINDS:
        bind = getattr(settings, name)
        if bind and bind.rpartition(":")[0] not in LOOPBACK:
            found.append(f"{name.upper()}={bind}: bind it to 127.0.0.1 (or use development)")
    return found


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings from ``environ`` (the process environment by default)."""
    settings = Settings(**fields.read(SETTINGS, os.environ if environ is None else environ))
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Refuse values outside their declared bounds, inconsistent pairs, and, in production,
    every unsafe default at once."""
    fields.check(SETTINGS, settings)
    if settings.breaker_min_calls > settings.breaker_window_size:
        raise ConfigError("BREAKER_MIN_CALLS must not exceed BREAKER_WINDOW_SIZE")
    if settings.app_env == "test":
        exposed = test_mode_exposures(settings)
        if exposed:
            raise ConfigError(
                "APP_ENV=test runs with development secrets, so it listens on this machine only:"
                "\n" + "\n".join(f"  - {e}" for e in exposed)
            )
    if settings.is_production:
        found = refusals(settings)
        if found:
            raise ConfigError(
                "APP_ENV=production refuses to start:\n" + "\n".join(f"  - {r}" for r in found)
            )
