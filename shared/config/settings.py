"""Every tunable of every process, each declared once on its field (``shared.config.fields``).

The README's configuration table is rendered from these declarations (``python -m
shared.config``), and a test holds the README to it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from shared.config.defaults import (
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ADMIN_PASSWORD,
    DEFAULT_ADMIN_TOKEN,
    DEFAULT_AUTH_LIMIT,
    DEFAULT_INVENTORY_DATABASE_URL,
    DEFAULT_ORDER_LIMIT,
    DEFAULT_ORDERS_DATABASE_URL,
    DEFAULT_PAYMENTS_API_KEY,
    DEFAULT_PAYMENTS_DATABASE_URL,
    DEFAULT_WEBHOOK_SECRET,
    DEV_CONSOLE_SECRET,
    DEV_SIGNING_KEY,
    DEV_VERIFY_KEY,
    secret_problems,
)
from shared.config.fields import ConfigError, env


@dataclass(frozen=True)
class Layout:
    """How one service's gunicorn runs: worker processes, threads each, database pool each."""

    workers: int
    threads: int
    # Plus as many overflow connections: pool + overflow >= threads, or at least the requests
    # admission control lets work at once (it admits no more than that).
    pool_size: int
    # Requests HAProxy sends one instance at once; the rest wait in its queue (lab/haproxy.py).
    # None: as many as it has threads.
    at_once: int | None = None


# Chosen by measurement under the crash storm and healthy (docs/benchmarks.md, "Process layout").
# Orders: a thread waits while inventory is slow (up to the reserve deadline), so many threads;
# too few and fast requests queue behind slow ones (p99 2.5 s at 8, 0.7 s at 32 per worker).
# Inventory: a crashed worker takes every request it was serving with it, and a stalled request
# holds a thread, so many small workers: a crash costs a few requests, and preload_app brings
# the worker back in milliseconds. Sleeping requests hold no database connection: pool 4 (+4).
# At once: an order is mostly CPU on two cores, so past a handful in flight each one only slows
# the others. Measured behind HAProxy at 32 clients (docs/overload.md): 6 at once confirmed
# 148 orders/s with p99 82 ms; every thread (32) 96 orders/s with p99 1.06 s. The threads stay
# many for what waits on inventory when it is slow, reached without HAProxy (the laboratory).
LAYOUTS = {
    "orders": Layout(workers=2, threads=16, pool_size=16, at_once=6),
    "inventory": Layout(workers=8, threads=8, pool_size=4),
    # The console is for people: one worker (its latency window lives in process memory), with
    # threads so that a slow order placement does not hold up every other page.
    "console": Layout(workers=1, threads=8, pool_size=1),
    # The payment provider stand-in: light, and two workers so a crash gremlin is not an outage.
    "payments": Layout(workers=2, threads=8, pool_size=4),
}


def _per_service(part: str) -> str:
    """A layout's default as the README shows it: "orders 16, inventory 4"."""
    return "per service: " + ", ".join(
        f"{name} {getattr(LAYOUTS[name], part)}" for name in ("orders", "inventory")
    )


DATABASES = "Environment and databases"
PROCESSES = "Processes"
INVENTORY = "Calls to inventory (the resilience layer)"
ORDERS = "Orders, the outbox and the reconciler"
REQUESTS = "Requests"
ACCOUNTS = "Accounts and tokens"
CHAOS = "Fault injection, logs and shared state"
CONSOLE = "The console"
PAYMENTS = "Payments and the payment provider"
TOOLS = "The audit and backups"


def _pem(raw: str) -> str:
    """A PEM key from one line: a literal ``\\n`` is a newline."""
    return raw.replace("\\n", "\n")


@dataclass(frozen=True)
class Settings:
    """Every tunable of both services, the reconciler, the console and the tools."""

    app_env: str = env(
        "development",
        "`production` refuses to start while any secret is a development default or shorter "
        "than 32 bytes, a database URL holds a development password, or chaos is on; it lists "
        "every problem with its fix (docs/hardening.md); `test` keeps the development secrets "
        "and so refuses to listen anywhere but 127.0.0.1",
        section=DATABASES,
        choices=("development", "test", "production"),
    )
    # A process reads only its own service's URL (``database_url``).
    orders_database_url: str = env(
        DEFAULT_ORDERS_DATABASE_URL,
        "order service database as its runtime role (rows only, no DDL); SQLAlchemy URL, "
        "`postgresql+psycopg://`",
        section=DATABASES,
        shown="local cluster, db `orders`",
    )
    inventory_database_url: str = env(
        DEFAULT_INVENTORY_DATABASE_URL,
        "inventory service database as its runtime role",
        section=DATABASES,
        shown="local cluster, db `inventory`",
    )
    orders_owner_database_url: str | None = env(
        None,
        "the owner role's URL, used only by migrations (`python -m shared.migrate`); unset, "
        "migrations use the runtime URL",
        section=DATABASES,
        shown="unset (`make up`: the local owner role)",
    )
    inventory_owner_database_url: str | None = env(
        None,
        "the same for inventory's owner role",
        section=DATABASES,
        shown="unset (`make up`: the local owner role)",
    )
    # libpq reads it for a URL without a password: a development password must not come in
    # that way either (``production.refusals``).
    pgpassword: str | None = env(
        None,
        "libpq's password for database URLs that carry none; production refuses a development "
        "password or one shorter than 32 bytes here too",
        section=DATABASES,
    )
    api_docs: bool | None = env(
        None,
        "serve `/openapi.json` and `/docs`; unset: on, except in production (a map of every "
        "route is for developers, not for anyone who asks)",
        section=REQUESTS,
        shown="on; off in production",
    )
    db_pool_size: int | None = env(
        None,
        "connections per process (plus as many overflow connections); pool plus overflow at "
        "least `WEB_THREADS`",
        section=DATABASES,
        shown=_per_service("pool_size"),
        positive=True,
    )
    db_pool_timeout_s: float = env(
        5.0, "how long a request waits for a pooled connection", section=DATABASES, positive=True
    )

    order_bind: str = env("127.0.0.1:3001", "where the order service listens", section=PROCESSES)
    inventory_bind: str = env(
        "127.0.0.1:3002", "where the inventory service listens", section=PROCESSES
    )
    web_workers: int | None = env(
        None,
        "gunicorn worker processes of the process started (each service has its own "
        "environment). Inventory: a crashed worker takes its in-flight requests with it, so many "
        "small workers; chosen by measurement, see docs/process-layout.md",
        section=PROCESSES,
        shown=_per_service("workers"),
        positive=True,
    )
    web_threads: int | None = env(
        None,
        "threads per worker. Orders: a thread waits while inventory is slow, so many threads",
        section=PROCESSES,
        shown=_per_service("threads"),
        positive=True,
    )
    # A crashed worker then costs a fork, not a second of CPU re-importing everything.
    front_agent_bind: str = env(
        "",
        "where the gunicorn master answers HAProxy's agent check with how many requests the "
        "instance may be sent at once (its few, plus those waiting long on inventory; "
        "`shared/front_agent.py`); empty: none, HAProxy keeps the fixed figure",
        section=PROCESSES,
    )
    web_preload: bool = env(
        True,
        "gunicorn `preload_app`: the app is built once in the master and workers are forked from "
        "it, so a crashed worker is back in about 50 ms; connections, sockets and per-pid metric "
        "files are renewed in each worker (`shared/forks.py`)",
        section=PROCESSES,
    )
    prometheus_multiproc_dir: str | None = env(
        None,
        "where gunicorn workers share metrics; must be set before the process starts "
        "(prometheus_client reads it at import)",
        section=PROCESSES,
        shown="set by `make up` per service",
    )
    reconciler_metrics_bind: str = env(
        "127.0.0.1:3003", "where the reconciler serves `/metrics`", section=PROCESSES
    )

    inventory_url: str = env(
        "http://127.0.0.1:3002", "where the order service finds inventory", section=INVENTORY
    )
    inventory_connect_timeout_s: float = env(
        1.0, "connect timeout per attempt", section=INVENTORY, positive=True
    )
    inventory_read_timeout_s: float = env(
        5.0,
        "read timeout per attempt, cut to what is left of the deadline",
        section=INVENTORY,
        positive=True,
    )
    # A crashed inventory worker is back in ~50 ms (preload_app) and its neighbours answer at
    # once: short first backoffs and five attempts let a reserve that met a dying worker still
    # answer within the deadline (crash storm: 96% definite at 3 x 0.1 s, 100% at 5 x 0.05 s).
    inventory_retry_attempts: int = env(
        5,
        "attempts in all, exponential backoff with full jitter, never past the deadline (the "
        "design's 3 left 4-12% of crash-storm orders PENDING; see docs/process-layout.md)",
        section=INVENTORY,
        positive=True,
    )
    inventory_backoff_base_s: float = env(
        0.05,
        "backoff between attempts: the waits before attempts 2-5 are at most 0.05, 0.1, 0.2, "
        "0.4 s, enough for a crashed worker to be replaced",
        section=INVENTORY,
        positive=True,
    )
    # Five attempts a call would be five times the load on an inventory that fails every call.
    inventory_retry_budget: float = env(
        0.2,
        "retries at most this share of the calls of the last `INVENTORY_RETRY_BUDGET_WINDOW_S` "
        "(per process), plus the floor below; past it a failed call is not retried",
        section=INVENTORY,
        low=0,
    )
    inventory_retry_budget_min_per_s: float = env(
        10.0,
        "the floor: this many retries a second are always allowed",
        section=INVENTORY,
        low=0,
    )
    inventory_retry_budget_window_s: float = env(
        10.0, "the window the retry budget counts calls over", section=INVENTORY, positive=True
    )
    inventory_backoff_max_s: float = env(
        2.0, "the longest wait between two attempts", section=INVENTORY, positive=True
    )
    order_reserve_deadline_s: float = env(
        6.0,
        "the whole synchronous reserve, retries included; then `202 PENDING`",
        section=INVENTORY,
        positive=True,
    )
    # A stalled worker then costs half a second, not the whole read timeout.
    inventory_hedge_after_s: float = env(
        0.5,
        "a request to inventory that has not answered after this long gets a second copy "
        "(commands are idempotent by reservation id; the first answer wins); 0 turns hedging off",
        section=INVENTORY,
        low=0,
    )
    inventory_hedge_budget: float = env(
        0.25, "the share of calls that may be hedged", section=INVENTORY, low=0, high=1
    )
    inventory_hedge_armed_s: float = env(
        30.0,
        "hedging is armed for this long by a call slower than the hedge delay or one that "
        "failed, and when a worker starts; disarmed, calls run straight on the request's thread "
        "(the hand-off to the hedge's thread cost about 7% of the order service's CPU per order)",
        section=INVENTORY,
        positive=True,
    )
    # A rate rides out the odd crashed worker; a row of five failures does not.
    breaker_failure_rate: float = env(
        0.5,
        "circuit breaker: open when at least this share of the last `BREAKER_WINDOW_SIZE` calls "
        "failed (a call fails when its retries ran out without an answer; a 4xx is no failure)",
        section=INVENTORY,
        positive=True,
        high=1,
    )
    breaker_window_size: int = env(
        20, "the calls the failure rate is taken over", section=INVENTORY, positive=True
    )
    breaker_min_calls: int = env(
        10,
        "the rate counts once this many calls are in the window (at most the window)",
        section=INVENTORY,
        positive=True,
    )
    breaker_fail_max: int = env(
        0,
        "also open after this many failed calls in a row (0: rule off)",
        section=INVENTORY,
        low=0,
    )
    breaker_reset_timeout_s: float = env(
        10.0,
        "open for this long, then one probe, which closes it on success (per process; shared "
        "through Redis when `REDIS_URL` is set)",
        section=INVENTORY,
        positive=True,
    )
    inventory_max_concurrency: int = env(
        16,
        "bulkhead: inventory calls in flight per process; past it a call fails at once",
        section=INVENTORY,
        positive=True,
    )
    inventory_client: str = env(
        "resilient",
        "`bare`: one plain HTTP call with the same timeouts, no retries, breaker or bulkhead; "
        "only for measuring what the resilience layer costs (`make bench`), refused in production",
        section=INVENTORY,
        choices=("resilient", "bare"),
    )

    order_pending_ttl_s: float = env(
        900.0,
        "a PENDING order older than this is cancelled and its stock released",
        section=ORDERS,
        positive=True,
    )
    idempotency_ttl_s: float = env(
        86400.0, "how long idempotency keys are kept", section=ORDERS, positive=True
    )
    idempotency_lease_s: float = env(
        30.0,
        "how long a first request holds its key (a repeat meanwhile is `409`)",
        section=ORDERS,
        positive=True,
    )
    outbox_retry_base_s: float = env(
        0.5,
        "backoff (full jitter) between deliveries of one outbox command: the first wait",
        section=ORDERS,
        positive=True,
    )
    outbox_retry_max_s: float = env(
        30.0, "the longest wait between two deliveries", section=ORDERS, positive=True
    )
    reconciler_interval_s: float = env(
        1.0, "the reconciler's pause when idle", section=ORDERS, positive=True
    )
    reconciler_batch_size: int = env(
        50, "stale PENDING orders handled per pass", section=ORDERS, positive=True
    )
    reconciler_concurrency: int = env(
        8,
        "commands claimed and delivered at once (a pass claims no more than it sends at once, "
        "so each is sent within its lease)",
        section=ORDERS,
        positive=True,
    )

    orders_per_customer_per_day: int = env(
        1000,
        "orders one customer may place in any 24 hours; beyond, `429 ORDER_LIMIT_REACHED` and "
        "nothing stored (repeats of an order placed before still replay); 0: no cap, and no count",
        section=ORDERS,
        low=0,
    )
    rejected_order_retention_s: float = env(
        30 * 86400.0,
        "rejected orders (and their lines and history) are deleted by the reconciler this long "
        "after they were placed",
        section=ORDERS,
        positive=True,
    )

    max_body_bytes: int = env(
        64 * 1024, "larger request bodies are refused with 413", section=REQUESTS, positive=True
    )
    request_read_timeout_s: float = env(
        10.0,
        "a client has this long to send its whole request once a worker thread takes it; "
        "slower ones are disconnected (headers) or answered 408 (body)",
        section=REQUESTS,
        positive=True,
    )
    admission_target_ms: float = env(
        5.0,
        "admission control: once requests have queued for a thread longer than this for a "
        "whole interval, those that waited longer are refused `503 OVERLOADED`",
        section=REQUESTS,
        positive=True,
    )
    admission_interval_ms: float = env(
        100.0,
        "admission control: how long the queue may stand (no request waiting under the target) "
        "before it is overload; until then every request is served (docs/overload.md)",
        section=REQUESTS,
        positive=True,
    )
    admission_latency_tolerance: float = env(
        2.0,
        "adaptive concurrency limit: how many times the least latency of its own work seen in "
        "the last 5 minutes a process's latest may be before its limit shrinks "
        "(docs/overload.md)",
        section=REQUESTS,
        low=1,
    )
    admission_min_concurrency: int = env(
        8,
        "adaptive concurrency limit: the fewest requests a process admits at once, however its "
        "latency rose (the most is its threads, or its database pool plus overflow if fewer); "
        "below 8, two busy cores refused a healthy burst",
        section=REQUESTS,
        positive=True,
    )
    trusted_proxies: str = env(
        "",
        "addresses or CIDR blocks (comma-separated) of the proxies whose `X-Forwarded-For` names "
        "the client for per-address limits; `make up` trusts its HAProxy (`127.0.0.1`), "
        "anyone else's header is ignored",
        section=REQUESTS,
    )
    console_forward_key: str | None = env(
        None,
        "a secret shared by the console and the order service: with it the console names each "
        "browser's address (`X-Forwarded-Client`), so console users are limited each on their "
        "own; `make up` generates one; production refuses a short one",
        section=REQUESTS,
    )
    # "N/period" as flask-limiter reads them, several separated by ";".
    rate_limit_orders_per_customer: str = env(
        DEFAULT_ORDER_LIMIT, "`POST /orders` per customer", section=REQUESTS
    )
    rate_limit_orders_per_address: str = env(
        DEFAULT_ORDER_LIMIT, "`POST /orders` per client address", section=REQUESTS
    )
    rate_limit_auth_per_address: str = env(
        DEFAULT_AUTH_LIMIT,
        "signups, and logins, per client address (each counted apart); `make up` raises it to "
        "`200/second`, since every local client is 127.0.0.1",
        section=REQUESTS,
    )
    rate_limit_auth_per_email: str = env(
        DEFAULT_AUTH_LIMIT,
        "signups per email (failed logins delay the next one instead: `AUTH_FAILURE_DELAY_S`)",
        section=REQUESTS,
    )

    # The order service signs users' and its own tokens with the private key; both services
    # verify with the public key (and with an identity provider's JWKS if set).
    auth_signing_key: str = env(
        DEV_SIGNING_KEY,
        "PEM (a literal `\\n` is read as a newline); the order service signs tokens with it; "
        "production refuses the development pair",
        section=ACCOUNTS,
        shown="the published development Ed25519 key",
        parse=_pem,
    )
    auth_verify_key: str = env(
        DEV_VERIFY_KEY,
        "PEM; both services verify tokens with it",
        section=ACCOUNTS,
        shown="its published public key",
        parse=_pem,
    )
    auth_issuer: str = env("resilient-orders", "the `iss` of every token", section=ACCOUNTS)
    auth_audience: str = env(
        "orders-api",
        "the `aud` of user tokens (the order service's own token for inventory has `inventory`)",
        section=ACCOUNTS,
    )
    auth_token_ttl_s: int = env(900, "user token lifetime", section=ACCOUNTS, positive=True)
    auth_leeway_s: int = env(30, "clock leeway when checking tokens", section=ACCOUNTS, low=0)
    auth_max_token_lifetime_s: int = env(
        86400,
        "a token whose `exp` is further than this after its `iat` is refused, whoever signed "
        "it (a token valid for ten years is a leaked credential for ten years)",
        section=ACCOUNTS,
        positive=True,
    )
    auth_password_min_score: int = env(
        3,
        "the least zxcvbn score (0..4) a new password needs: common passwords, words, repeats, "
        "keyboard walks and the account's own email score low (`422 WEAK_PASSWORD` with advice)",
        section=ACCOUNTS,
        low=0,
        high=4,
    )
    auth_jwks_url: str | None = env(
        None,
        "trust an identity provider's keys as well (see docs/who-may-do-what.md)",
        section=ACCOUNTS,
    )
    auth_jwks_algorithms: str = env(
        "RS256", "the algorithms accepted from that provider", section=ACCOUNTS
    )
    auth_role_claim: str = env("role", "the claim that carries the role", section=ACCOUNTS)
    # argon2 costs ~100 ms of CPU a hash: unbounded, a login storm starves the orders.
    auth_failures_free: int = env(
        3,
        "failed logins per email before each further one delays the next attempt",
        section=ACCOUNTS,
        low=0,
    )
    auth_failure_delay_s: float = env(
        0.5,
        "the first delay; it doubles with each further failure (docs/overload.md)",
        section=ACCOUNTS,
        positive=True,
    )
    auth_failure_delay_max_s: float = env(
        4.0,
        "the longest delay: the owner of an account under attack logs in at most this long "
        "after the last failure",
        section=ACCOUNTS,
        positive=True,
    )
    auth_failure_window_s: float = env(
        900.0,
        "failed logins older than this are forgotten (and purged)",
        section=ACCOUNTS,
        positive=True,
    )
    # One: a hash is memory-hard CPU work, and two at once per worker served no more logins
    # under a storm (about 2.5 a second either way on two cores) but slowed the orders more
    # (p99 with 20 logins/s, three runs each: 1.13-1.35x at one, 0.93-1.61x at two).
    auth_hash_concurrency: int = env(
        1,
        "password hashes (signup, login) at once per process; past it, and after waiting "
        "`AUTH_HASH_WAIT_S`, a login is refused with `503 OVERLOADED` and `Retry-After`",
        section=ACCOUNTS,
        positive=True,
    )
    auth_hash_wait_s: float = env(
        0.5, "how long a login waits for a hashing slot", section=ACCOUNTS, low=0
    )
    service_token_ttl_s: int = env(
        300,
        "the order service's own token for inventory (renewed at 80% of it)",
        section=ACCOUNTS,
        positive=True,
    )
    admin_email: str = env(
        DEFAULT_ADMIN_EMAIL,
        "the admin `make up` creates (development) or `python -m order_service.accounts "
        "create-admin` creates",
        section=ACCOUNTS,
    )
    admin_password: str = env(
        DEFAULT_ADMIN_PASSWORD,
        "its password; production refuses the default and any shorter than 32 bytes",
        section=ACCOUNTS,
    )
    admin_token: str = env(
        DEFAULT_ADMIN_TOKEN,
        "a static admin credential the chaos API accepts beside an admin's JWT; production "
        "requires your own secret of 32+ bytes",
        section=ACCOUNTS,
    )

    chaos_enabled: bool = env(
        False,
        "fault injection in the inventory service (`make up` turns it on); never in production",
        section=CHAOS,
    )
    log_level: str = env("INFO", "JSON logs on stderr, one line per request", section=CHAOS)
    redis_url: str | None = env(
        None,
        "share the breaker's state and the rate limits across processes (e.g. "
        "`redis://127.0.0.1:6379/0`); without it each process counts alone, and while Redis "
        "does not answer each process keeps its own state (a warning, "
        "`shared_state_fallbacks_total`, `shared_state_local`), trying Redis again every 5 s",
        section=CHAOS,
    )

    payments_url: str = env(
        "http://127.0.0.1:3004",
        "where the order service finds the payment provider's API",
        section=PAYMENTS,
    )
    payments_api_key: str = env(
        DEFAULT_PAYMENTS_API_KEY,
        "the order service's secret key at the provider (the provider checks it); production "
        "refuses the default and any shorter than 32 bytes",
        section=PAYMENTS,
    )
    payment_webhook_secrets: str = env(
        DEFAULT_WEBHOOK_SECRET,
        "webhook signing secrets, comma-separated: the order service accepts an event signed "
        "with any of them and the provider signs with each, so a rotation lists the new one "
        "beside the old until every sender has it; production refuses the default",
        section=PAYMENTS,
    )
    payment_webhook_tolerance_s: float = env(
        300.0,
        "a webhook signed longer ago (or later) than this is refused: a captured request "
        "cannot be replayed",
        section=PAYMENTS,
        positive=True,
    )
    payments_connect_timeout_s: float = env(
        1.0, "connect timeout of calls to the provider", section=PAYMENTS, positive=True
    )
    payments_read_timeout_s: float = env(
        5.0, "read timeout of each call to the provider", section=PAYMENTS, positive=True
    )
    payments_retry_attempts: int = env(
        3,
        "attempts per call to the provider (every call carries an Idempotency-Key, so a "
        "retry after no answer is safe)",
        section=PAYMENTS,
        positive=True,
    )
    payments_deadline_s: float = env(
        8.0,
        "a call to the provider, retries included, ends by then",
        section=PAYMENTS,
        positive=True,
    )
    payment_window_s: float = env(
        900.0,
        "an order with something to pay that is not PAID this long after it was placed is "
        "cancelled by the reconciler and its stock released (a payment that succeeds later "
        "is refunded)",
        section=PAYMENTS,
        positive=True,
    )
    unpaid_orders_per_customer: int = env(
        10,
        "orders a customer may hold unpaid at once (PENDING or CONFIRMED); one more is `429 "
        "TOO_MANY_UNPAID_ORDERS`, nothing stored; 0: no limit",
        section=PAYMENTS,
        low=0,
    )
    unpaid_units_per_customer: int = env(
        1000,
        "units a customer may hold in unpaid orders at once; an order past it is `422 "
        "TOO_MANY_UNPAID_UNITS`, nothing stored; 0: no limit",
        section=PAYMENTS,
        low=0,
    )
    payment_event_attempts: int = env(
        3,
        "tries at processing a webhook event before it moves to the dead-letter queue",
        section=PAYMENTS,
        positive=True,
    )
    payment_event_retry_base_s: float = env(
        1.0,
        "the first wait before processing a failed event again (doubling after each try)",
        section=PAYMENTS,
        positive=True,
    )
    payment_return_origins: str = env(
        "http://127.0.0.1:8080,http://localhost:8080",
        "origins a payment's `return_url` may point to (comma-separated; the console's): the "
        "provider's pay page sends the browser there, so any other is refused",
        section=PAYMENTS,
    )
    payments_provider_bind: str = env(
        "127.0.0.1:3004", "where the payment provider stand-in listens", section=PAYMENTS
    )
    payments_provider_database_url: str = env(
        DEFAULT_PAYMENTS_DATABASE_URL,
        "the provider stand-in's own database (it creates its tables itself)",
        section=PAYMENTS,
        shown="local cluster, db `payments`",
    )
    payments_public_url: str | None = env(
        None,
        "where a browser reaches the provider's pay page (unset: `PAYMENTS_URL`)",
        section=PAYMENTS,
    )
    payment_webhook_url: str = env(
        "http://127.0.0.1:3001/api/v1/payments/webhook",
        "where the provider stand-in sends its webhooks",
        section=PAYMENTS,
    )

    cors_origins: str = env(
        "",
        "origins whose pages may call the APIs from the browser (comma-separated, e.g. "
        "`https://shop.example.com`); empty: none (the console calls them from its server)",
        section=REQUESTS,
    )

    console_bind: str = env("127.0.0.1:8080", "where the console listens", section=CONSOLE)
    order_url: str = env(
        "http://127.0.0.1:3001",
        "where the console and the audit find the order service (inventory: `INVENTORY_URL`)",
        section=CONSOLE,
    )
    prometheus_url: str | None = env(
        None,
        "the console's latency light asks Prometheus (every instance counted); unset, the "
        "console keeps its own 30 s window of the order service's `/metrics` (one instance)",
        section=CONSOLE,
        shown="unset (`make up`: `http://127.0.0.1:9090`)",
    )
    console_refresh_s: float = env(
        2.0, "how often the console's live parts refresh", section=CONSOLE, positive=True
    )
    console_secret_key: str = env(
        DEV_CONSOLE_SECRET,
        "signs the console's session cookie; production refuses the default and any shorter "
        "than 32 bytes",
        section=CONSOLE,
    )
    # Only checked here: docker-compose.yml hands it to the one-shot ``prepare`` step too, so
    # that production mode refuses Grafana's default.
    grafana_admin_password: str | None = env(
        None,
        "Grafana's admin password; compose's `prepare` step refuses the default in production",
        section=CONSOLE,
        shown="`admin` in compose",
    )

    audit_window_h: float = env(
        24.0,
        "the audit (`make audit`) compares final orders created this recently too",
        section=TOOLS,
        positive=True,
    )
    audit_settle_s: float = env(
        60.0,
        "orders changed this recently may have a command on its way: left to the next run",
        section=TOOLS,
        low=0,
    )
    backup_dir: str | None = env(
        None,
        "where `make backup` keeps base backups and the WAL archive",
        section=TOOLS,
        shown="`.run/backups`",
    )
    backup_keep: int = env(3, "how many base backups to keep", section=TOOLS, positive=True)

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
        found = secret_problems("CONSOLE_SECRET_KEY", self.console_secret_key)
        if self.is_production and found:
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
        return dataclasses.replace(
            default,
            workers=self.web_workers or default.workers,
            threads=self.web_threads or default.threads,
            pool_size=self.db_pool_size or default.pool_size,
        )

    @property
    def serves_docs(self) -> bool:
        return self.api_docs if self.api_docs is not None else not self.is_production

    @property
    def cors_allowed_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]

    @property
    def return_origins(self) -> list[str]:
        return [o.strip().rstrip("/") for o in self.payment_return_origins.split(",") if o.strip()]

    @property
    def webhook_secrets(self) -> list[str]:
        """The webhook secrets; production refuses a default or short one here, in the
        processes that sign or verify with them (the inventory service never needs them)."""
        secrets = [s.strip() for s in self.payment_webhook_secrets.split(",") if s.strip()]
        for secret in secrets or [""]:
            found = secret_problems("PAYMENT_WEBHOOK_SECRETS", secret)
            if self.is_production and found:
                raise ConfigError(found[0])
        return secrets

    def payments_key(self) -> str:
        """The merchant's key at the provider; production refuses the default here."""
        found = secret_problems("PAYMENTS_API_KEY", self.payments_api_key)
        if self.is_production and found:
            raise ConfigError(found[0])
        return self.payments_api_key

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    def replace(self, **changes: object) -> Settings:
        """A copy with some fields changed (tests and tools build variants this way)."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
