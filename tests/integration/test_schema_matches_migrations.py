"""The tables the code uses are exactly what the migrations create (the gremlin table included,
which is derived from the ``Gremlin`` dataclass)."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from chaos.store import metadata as chaos_metadata
from inventory_service.tables import metadata as inventory_metadata
from order_service.tables import metadata as order_metadata


def _diff(engine, metadata):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(context, metadata)


@pytest.mark.parametrize(
    ("engine_fixture", "metadata"),
    [
        ("orders_engine", [order_metadata]),
        ("inventory_engine", [inventory_metadata, chaos_metadata]),
    ],
)
def test_the_migrated_database_matches_the_tables_in_code(request, engine_fixture, metadata):
    engine = request.getfixturevalue(engine_fixture)

    assert _diff(engine, metadata) == []
