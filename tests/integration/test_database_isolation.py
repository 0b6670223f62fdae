"""Each service's role reaches its own database only: the only path between them is HTTP."""

import psycopg
import pytest
from sqlalchemy.engine import make_url


def conninfo(url, database):
    u = make_url(url)
    return f"host={u.host} port={u.port} user={u.username} password={u.password} dbname={database}"


@pytest.mark.parametrize(("own", "other"), [("orders", "inventory"), ("inventory", "orders")])
def test_a_service_role_cannot_connect_to_the_other_database(settings, own, other):
    own_url = getattr(settings, f"{own}_database_url")
    other_db = make_url(getattr(settings, f"{other}_database_url")).database

    with psycopg.connect(conninfo(own_url, make_url(own_url).database)):
        pass  # its own database: fine
    with pytest.raises(psycopg.OperationalError, match="permission denied"):
        psycopg.connect(conninfo(own_url, other_db))
