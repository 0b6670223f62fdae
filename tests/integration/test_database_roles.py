"""Least privilege: each service connects as a runtime role that reads and writes rows only.

The owner role ran the migrations (tests/conftest.py migrates as the owner); here the runtime
role, the one the services use, tries everything it must not do.
"""

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import DataError

from shared.db import make_engine


def libpq(url):
    return url.replace("postgresql+psycopg://", "postgresql://")


FORBIDDEN = {
    "orders": [
        "CREATE TABLE intruder (id int)",
        "DROP TABLE orders",
        "ALTER TABLE orders ADD COLUMN intruder int",
        "TRUNCATE orders",
        "CREATE SCHEMA intruder",
        "CREATE TEMP TABLE intruder (id int)",
        "CREATE ROLE intruder",
        "CREATE DATABASE intruder",
    ],
    "inventory": [
        "CREATE TABLE intruder (id int)",
        "DROP TABLE products",
        "ALTER TABLE products DROP COLUMN name",
        "TRUNCATE stock_movements",
        "CREATE INDEX intruder ON products (name)",
        "CREATE SCHEMA intruder",
    ],
}


@pytest.mark.parametrize(
    ("service", "statement"),
    [(service, statement) for service, statements in FORBIDDEN.items() for statement in statements],
)
def test_the_runtime_role_cannot_change_the_schema(settings, service, statement):
    with (
        psycopg.connect(libpq(settings.database_url(service)), autocommit=True) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute(statement)


@pytest.mark.parametrize(("service", "table"), [("orders", "orders"), ("inventory", "products")])
def test_the_runtime_role_reads_and_writes_rows_and_is_no_superuser(settings, service, table):
    with psycopg.connect(libpq(settings.database_url(service))) as conn:
        conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        conn.execute(f"DELETE FROM {table} WHERE false")
        superuser, createdb, createrole = conn.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        conn.rollback()

    assert (superuser, createdb, createrole) == (False, False, False)


@pytest.mark.parametrize("service", ["orders", "inventory"])
def test_the_owner_and_not_the_runtime_role_owns_the_tables(settings, service):
    with psycopg.connect(libpq(settings.database_url(service))) as conn:
        owners = {
            row[0]
            for row in conn.execute(
                "SELECT tableowner FROM pg_tables WHERE schemaname = 'public'"
            ).fetchall()
        }
        me = conn.execute("SELECT current_user").fetchone()[0]

    assert owners == {f"{me}_owner"}


def test_sql_parameters_never_reach_error_messages(settings):
    engine = make_engine(settings.database_url("orders"), settings, application_name="tests")
    secret = 987654321987  # PostgreSQL's own message does not repeat it ("smallint out of range")
    try:
        with pytest.raises(DataError) as failed, engine.connect() as conn:
            conn.execute(text("SELECT CAST(:v AS smallint)"), {"v": secret})
    finally:
        engine.dispose()

    assert str(secret) not in str(failed.value)
    assert "hidden due to hide_parameters" in str(failed.value)
