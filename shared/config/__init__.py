"""Settings for every process, read from the environment in this one place.

Nothing else in the project reads ``os.environ``: the app factories, the reconciler, the tools and
the tests all receive a frozen ``Settings``. The defaults run the system locally with ``make up``;
production mode (``APP_ENV=production``) refuses the default secrets and keeps chaos off.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

# Local development credentials: the throwaway cluster that ``make up`` provisions uses these.
DEFAULT_ORDERS_DATABASE_URL = "postgresql+psycopg://orders:orders-dev@127.0.0.1:5433/orders"
DEFAULT_INVENTORY_DATABASE_URL = (
    "postgresql+psycopg://inventory:inventory-dev@127.0.0.1:5433/inventory"
)
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
# Signs the console's session cookies locally; production refuses it (``console_secret``).
DEV_CONSOLE_SECRET = "dev-console-secret"
DEFAULT_ADMIN_EMAIL = "admin@example.com"
DEFAULT_ADMIN_PASSWORD = "dev-admin-password"
# Generous enough for people, tight enough for a password-guessing script; "N/period" strings
# as flask-limiter reads them, several separated by ";".
DEFAULT_ORDER_LIMIT = "30/second;600/minute"
DEFAULT_AUTH_LIMIT = "10/minute;100/hour"


class ConfigError(ValueError):
    """A setting is missing, malformed or unsafe for the chosen environment."""


@dataclass(frozen=True)
class Layout:
    """How one service's gunicorn runs: worker processes, threads each, database pool each."""

    workers: int
    threads: int
    pool_size: int  # plus as many overflow connections: pool + overflow >= threads


# Chosen by measurement under the crash storm and healthy (docs/benchmarks.md, "Process layout").
# Orders: a thread waits while inventory is slow (up to the reserve deadline), so many threads;
# too few and fast requests queue behind slow ones (p99 2.5 s at 8, 0.7 s at 32 per worker).
# Inventory: a crashed worker takes every request it was serving with it, and a stalled request
# holds a thread, so many small workers: a crash costs a few requests, and preload_app brings
# the worker back in milliseconds. Sleeping requests hold no database connection: pool 4 (+4).
LAYOUTS = {
    "orders": Layout(workers=2, threads=16, pool_size=16),
    "inventory": Layout(workers=8, threads=8, pool_size=4),
    # The console is for people: one worker (its latency window lives in process memory), with
    # threads so that a slow order placement does not hold up every other page.
    "console": Layout(workers=1, threads=8, pool_size=1),
}


@dataclass(frozen=True)
class Settings:
    """Every tunable of both services; see the configuration table in the README."""

    app_env: str = "development"
    # Each service's runtime role: data only (SELECT/INSERT/UPDATE/DELETE), no DDL. A process
    # reads only its own service's URL (``database_url``).
    orders_database_url: str = DEFAULT_ORDERS_DATABASE_URL
    inventory_database_url: str = DEFAULT_INVENTORY_DATABASE_URL
    # The owner role, which runs Alembic (and only that); unset, migrations use the runtime URL.
    orders_owner_database_url: str | None = None
    inventory_owner_database_url: str | None = None
    # Unset: the service's measured layout (LAYOUTS); set, it applies to the process started.
    db_pool_size: int | None = None
    db_pool_timeout_s: float = 5.0
    inventory_url: str = "http://127.0.0.1:3002"
    inventory_connect_timeout_s: float = 1.0
    inventory_read_timeout_s: float = 5.0
    # A crashed inventory worker is back in ~50 ms (preload_app) and its neighbours answer at
    # once: short first backoffs and five attempts let a reserve that met a dying worker still
    # answer within the deadline (crash storm: 96% definite at 3 x 0.1 s, 100% at 5 x 0.05 s).
    inventory_retry_attempts: int = 5
    inventory_backoff_base_s: float = 0.05
    inventory_backoff_max_s: float = 2.0
    order_reserve_deadline_s: float = 6.0
    # A request to inventory slower than this gets a second copy (0: never), at most for this
    # share of calls: a stalled worker costs half a second, not the whole read timeout.
    inventory_hedge_after_s: float = 0.5
    inventory_hedge_budget: float = 0.25
    # Hedging is armed for this long by a call slower than INVENTORY_HEDGE_AFTER_S or one that
    # failed (and when a worker starts); disarmed, calls skip the hand-off to the hedge's thread.
    inventory_hedge_armed_s: float = 30.0
    # The breaker opens when at least this share of the last BREAKER_WINDOW_SIZE calls failed
    # (once BREAKER_MIN_CALLS are in), and, if BREAKER_FAIL_MAX > 0, after that many failures in
    # a row as well. A rate rides out the odd crashed worker; a row of five does not.
    breaker_failure_rate: float = 0.5
    breaker_window_size: int = 20
    breaker_min_calls: int = 10
    breaker_fail_max: int = 0
    breaker_reset_timeout_s: float = 10.0
    inventory_max_concurrency: int = 16
    # "bare": one plain HTTP call with the same timeouts, no retries, breaker or bulkhead. Only
    # for measuring what the resilience layer costs (make bench); never in production.
    inventory_client: str = "resilient"
    order_pending_ttl_s: float = 900.0
    idempotency_ttl_s: float = 86400.0
    idempotency_lease_s: float = 30.0
    outbox_retry_base_s: float = 0.5
    outbox_retry_max_s: float = 30.0
    reconciler_interval_s: float = 1.0
    reconciler_batch_size: int = 50
    reconciler_concurrency: int = 8
    max_body_bytes: int = 64 * 1024
    # A client has this long to send its whole request (line, headers, body) once a worker
    # thread takes it; slower ones are disconnected (or answered 408) so they cannot hold threads.
    request_read_timeout_s: float = 10.0
    admin_token: str = DEFAULT_ADMIN_TOKEN
    chaos_enabled: bool = False
    log_level: str = "INFO"
    redis_url: str | None = None
    order_bind: str = "127.0.0.1:3001"
    inventory_bind: str = "127.0.0.1:3002"
    web_workers: int | None = None
    web_threads: int | None = None
    # Import and build the app once in gunicorn's master and fork workers from it: a worker killed
    # by a crash is back in milliseconds instead of re-importing everything (about a second of CPU).
    web_preload: bool = True
    # Set by the launcher before Python starts (prometheus_client reads it at import): gunicorn's
    # workers then share their metrics through files in this directory.
    prometheus_multiproc_dir: str | None = None
    reconciler_metrics_bind: str = "127.0.0.1:3003"
    # Who may do what. The order service signs users' and its own tokens with the private key;
    # both services verify with the public key (and with an identity provider's JWKS if set).
    auth_signing_key: str = DEV_SIGNING_KEY
    auth_verify_key: str = DEV_VERIFY_KEY
    auth_issuer: str = "resilient-orders"
    auth_audience: str = "orders-api"
    auth_token_ttl_s: int = 900
    auth_leeway_s: int = 30
    auth_jwks_url: str | None = None
    auth_jwks_algorithms: str = "RS256"
    auth_role_claim: str = "role"
    service_token_ttl_s: int = 300
    admin_email: str = DEFAULT_ADMIN_EMAIL
    admin_password: str = DEFAULT_ADMIN_PASSWORD
    rate_limit_orders_per_customer: str = DEFAULT_ORDER_LIMIT
    rate_limit_orders_per_address: str = DEFAULT_ORDER_LIMIT
    rate_limit_auth_per_address: str = DEFAULT_AUTH_LIMIT
    rate_limit_auth_per_email: str = DEFAULT_AUTH_LIMIT
    # The web console (console/): where it listens, where it finds the order service's public API
    # (inventory's is ``inventory_url``) and Prometheus' query API (unset: the console keeps its
    # own 30 s window of the order service's /metrics), how often its pages refresh, and the key
    # that signs its session cookies.
    console_bind: str = "127.0.0.1:8080"
    order_url: str = "http://127.0.0.1:3001"  # the audit (make audit) reads orders there too
    prometheus_url: str | None = None
    console_refresh_s: float = 2.0
    console_secret_key: str = DEV_CONSOLE_SECRET
    # The audit (python -m order_service.audit): final orders this recent are compared too, and
    # orders changed this recently may have a command on its way, so they are left to the next run.
    audit_window_h: float = 24.0
    audit_settle_s: float = 60.0
    # Backups of the local cluster (python -m lab.backups): where, and how many base backups
    # to keep.
    backup_dir: str | None = None
    backup_keep: int = 3
    # Only checked: docker-compose.yml hands Grafana's admin password to the one-shot ``prepare``
    # step too, so that production mode refuses Grafana's default.
    grafana_admin_password: str | None = None

    def database_url(self, service: str) -> str:
        """The runtime URL of ``service`` ("orders" or "inventory"), the one its processes use.

        Production refuses the built-in default here, where a process asks for its own URL: the
        inventory service never needs the order database's URL, so it need not be set there.
        """
        orders = service == "orders"
        variable = "ORDERS_DATABASE_URL" if orders else "INVENTORY_DATABASE_URL"
        url = self.orders_database_url if orders else self.inventory_database_url
        default = DEFAULT_ORDERS_DATABASE_URL if orders else DEFAULT_INVENTORY_DATABASE_URL
        if self.is_production and url == default:
            raise ConfigError(
                f"{variable}: production needs it set; the default holds a development password"
            )
        return url

    def console_secret(self) -> str:
        """The console's cookie-signing key; production refuses the default or a short one here,
        in the one process that signs with it."""
        if self.is_production:
            from shared.config.production import secret_problems

            found = secret_problems("CONSOLE_SECRET_KEY", self.console_secret_key)
            if found:
                raise ConfigError(found[0])
        return self.console_secret_key

    def owner_database_url(self, service: str) -> str:
        """The URL Alembic runs with: the owner role's, or the runtime one when no owner is set."""
        if service == "orders":
            return self.orders_owner_database_url or self.database_url(service)
        return self.inventory_owner_database_url or self.database_url(service)

    def layout(self, service: str) -> Layout:
        """The layout of ``service`` ("orders", "inventory"; others use the orders one), with
        ``WEB_WORKERS``, ``WEB_THREADS`` and ``DB_POOL_SIZE`` applied when set."""
        default = LAYOUTS.get(service, LAYOUTS["orders"])
        return Layout(
            self.web_workers or default.workers,
            self.web_threads or default.threads,
            self.db_pool_size or default.pool_size,
        )

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests and tools build variants this way)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


# Environment variable -> (field name, parser).
def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ValueError(f"not a boolean: {raw!r}")


_VARIABLES: dict[str, tuple[str, type | object]] = {
    "APP_ENV": ("app_env", str),
    "ORDERS_DATABASE_URL": ("orders_database_url", str),
    "INVENTORY_DATABASE_URL": ("inventory_database_url", str),
    "ORDERS_OWNER_DATABASE_URL": ("orders_owner_database_url", str),
    "INVENTORY_OWNER_DATABASE_URL": ("inventory_owner_database_url", str),
    "DB_POOL_SIZE": ("db_pool_size", int),
    "DB_POOL_TIMEOUT_S": ("db_pool_timeout_s", float),
    "INVENTORY_URL": ("inventory_url", str),
    "INVENTORY_CONNECT_TIMEOUT_S": ("inventory_connect_timeout_s", float),
    "INVENTORY_READ_TIMEOUT_S": ("inventory_read_timeout_s", float),
    "INVENTORY_RETRY_ATTEMPTS": ("inventory_retry_attempts", int),
    "INVENTORY_BACKOFF_BASE_S": ("inventory_backoff_base_s", float),
    "INVENTORY_BACKOFF_MAX_S": ("inventory_backoff_max_s", float),
    "ORDER_RESERVE_DEADLINE_S": ("order_reserve_deadline_s", float),
    "INVENTORY_HEDGE_AFTER_S": ("inventory_hedge_after_s", float),
    "INVENTORY_HEDGE_BUDGET": ("inventory_hedge_budget", float),
    "INVENTORY_HEDGE_ARMED_S": ("inventory_hedge_armed_s", float),
    "BREAKER_FAILURE_RATE": ("breaker_failure_rate", float),
    "BREAKER_WINDOW_SIZE": ("breaker_window_size", int),
    "BREAKER_MIN_CALLS": ("breaker_min_calls", int),
    "BREAKER_FAIL_MAX": ("breaker_fail_max", int),
    "BREAKER_RESET_TIMEOUT_S": ("breaker_reset_timeout_s", float),
    "INVENTORY_MAX_CONCURRENCY": ("inventory_max_concurrency", int),
    "INVENTORY_CLIENT": ("inventory_client", str),
    "ORDER_PENDING_TTL_S": ("order_pending_ttl_s", float),
    "IDEMPOTENCY_TTL_S": ("idempotency_ttl_s", float),
    "IDEMPOTENCY_LEASE_S": ("idempotency_lease_s", float),
    "OUTBOX_RETRY_BASE_S": ("outbox_retry_base_s", float),
    "OUTBOX_RETRY_MAX_S": ("outbox_retry_max_s", float),
    "RECONCILER_INTERVAL_S": ("reconciler_interval_s", float),
    "RECONCILER_BATCH_SIZE": ("reconciler_batch_size", int),
    "RECONCILER_CONCURRENCY": ("reconciler_concurrency", int),
    "MAX_BODY_BYTES": ("max_body_bytes", int),
    "REQUEST_READ_TIMEOUT_S": ("request_read_timeout_s", float),
    "ADMIN_TOKEN": ("admin_token", str),
    "CHAOS_ENABLED": ("chaos_enabled", _bool),
    "LOG_LEVEL": ("log_level", str),
    "REDIS_URL": ("redis_url", str),
    "ORDER_BIND": ("order_bind", str),
    "INVENTORY_BIND": ("inventory_bind", str),
    "WEB_WORKERS": ("web_workers", int),
    "WEB_THREADS": ("web_threads", int),
    "WEB_PRELOAD": ("web_preload", _bool),
    "PROMETHEUS_MULTIPROC_DIR": ("prometheus_multiproc_dir", str),
    "RECONCILER_METRICS_BIND": ("reconciler_metrics_bind", str),
    "AUTH_SIGNING_KEY": ("auth_signing_key", lambda raw: raw.replace("\\n", "\n")),
    "AUTH_VERIFY_KEY": ("auth_verify_key", lambda raw: raw.replace("\\n", "\n")),
    "AUTH_ISSUER": ("auth_issuer", str),
    "AUTH_AUDIENCE": ("auth_audience", str),
    "AUTH_TOKEN_TTL_S": ("auth_token_ttl_s", int),
    "AUTH_LEEWAY_S": ("auth_leeway_s", int),
    "AUTH_JWKS_URL": ("auth_jwks_url", str),
    "AUTH_JWKS_ALGORITHMS": ("auth_jwks_algorithms", str),
    "AUTH_ROLE_CLAIM": ("auth_role_claim", str),
    "SERVICE_TOKEN_TTL_S": ("service_token_ttl_s", int),
    "ADMIN_EMAIL": ("admin_email", str),
    "ADMIN_PASSWORD": ("admin_password", str),
    "RATE_LIMIT_ORDERS_PER_CUSTOMER": ("rate_limit_orders_per_customer", str),
    "RATE_LIMIT_ORDERS_PER_ADDRESS": ("rate_limit_orders_per_address", str),
    "RATE_LIMIT_AUTH_PER_ADDRESS": ("rate_limit_auth_per_address", str),
    "RATE_LIMIT_AUTH_PER_EMAIL": ("rate_limit_auth_per_email", str),
    "GRAFANA_ADMIN_PASSWORD": ("grafana_admin_password", str),
    "CONSOLE_BIND": ("console_bind", str),
    "ORDER_URL": ("order_url", str),
    "PROMETHEUS_URL": ("prometheus_url", str),
    "CONSOLE_REFRESH_S": ("console_refresh_s", float),
    "CONSOLE_SECRET_KEY": ("console_secret_key", str),
    "AUDIT_WINDOW_H": ("audit_window_h", float),
    "AUDIT_SETTLE_S": ("audit_settle_s", float),
    "BACKUP_DIR": ("backup_dir", str),
    "BACKUP_KEEP": ("backup_keep", int),
}

# Lower bounds that keep a typo from turning into a hang or a division by zero.
_POSITIVE = {
    "db_pool_size",
    "db_pool_timeout_s",
    "inventory_connect_timeout_s",
    "inventory_read_timeout_s",
    "inventory_retry_attempts",
    "order_reserve_deadline_s",
    "breaker_window_size",
    "breaker_min_calls",
    "breaker_reset_timeout_s",
    "inventory_max_concurrency",
    "order_pending_ttl_s",
    "idempotency_ttl_s",
    "idempotency_lease_s",
    "reconciler_interval_s",
    "outbox_retry_base_s",
    "outbox_retry_max_s",
    "reconciler_batch_size",
    "reconciler_concurrency",
    "max_body_bytes",
    "request_read_timeout_s",
    "web_workers",
    "web_threads",
    "auth_token_ttl_s",
    "service_token_ttl_s",
    "console_refresh_s",
    "audit_window_h",
    "backup_keep",
}


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build validated settings from ``environ`` (the process environment by default)."""
    env = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for variable, (name, parse) in _VARIABLES.items():
        raw = env.get(variable)
        if raw is None or raw == "":
            continue
        try:
            values[name] = parse(raw)  # type: ignore[operator]
        except ValueError as exc:
            raise ConfigError(f"{variable}: {exc}") from exc
    settings = Settings(**values)  # type: ignore[arg-type]
    validate(settings)
    return settings


def validate(settings: Settings) -> None:
    """Refuse nonsense values, and defaults that are unsafe in production."""
    for name in _POSITIVE:
        value = getattr(settings, name)
        if value is not None and value <= 0:
            raise ConfigError(f"{name} must be positive")
    if settings.app_env not in {"development", "test", "production"}:
        raise ConfigError("APP_ENV must be development, test or production")
    if not 0 < settings.breaker_failure_rate <= 1:
        raise ConfigError("BREAKER_FAILURE_RATE must be above 0 and at most 1 (0.5 is half)")
    if settings.breaker_min_calls > settings.breaker_window_size:
        raise ConfigError("BREAKER_MIN_CALLS must not exceed BREAKER_WINDOW_SIZE")
    if settings.inventory_hedge_after_s < 0:
        raise ConfigError("INVENTORY_HEDGE_AFTER_S must be 0 (no hedging) or positive")
    if not 0 <= settings.inventory_hedge_budget <= 1:
        raise ConfigError("INVENTORY_HEDGE_BUDGET is a share of calls, between 0 and 1")
    if settings.inventory_hedge_armed_s <= 0:
        raise ConfigError("INVENTORY_HEDGE_ARMED_S must be positive")
    if settings.breaker_fail_max < 0:
        raise ConfigError("BREAKER_FAIL_MAX must be 0 (off) or positive")
    if settings.inventory_client not in {"resilient", "bare"}:
        raise ConfigError("INVENTORY_CLIENT must be resilient or bare")
    if settings.is_production:
        from shared.config.production import refusals

        found = refusals(settings)
        if found:
            raise ConfigError(
                "APP_ENV=production refuses to start:\n" + "\n".join(f"  - {r}" for r in found)
            )
