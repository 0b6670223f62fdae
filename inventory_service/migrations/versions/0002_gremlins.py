"""gremlins

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 13:08:07.585196
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "gremlin_firings",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("gremlin", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("reservation_id", sa.String(length=64), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column(
            "at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        op.f("ix_gremlin_firings_reservation_id"),
        "gremlin_firings",
        ["reservation_id"],
        unique=False,
    )
    op.create_table(
        "gremlins",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("phase", sa.String(length=8), nullable=False),
        sa.Column("delay_ms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("jitter_ms", sa.Integer(), server_default="0", nullable=False),
        sa.Column("status", sa.Integer(), server_default="503", nullable=False),
        sa.Column("every_nth", sa.Integer(), nullable=True),
        sa.Column("probability", sa.Float(), nullable=True),
        sa.Column("seed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("fail_next", sa.Integer(), nullable=True),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("matched", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("fired", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("gremlins")
    op.drop_index(op.f("ix_gremlin_firings_reservation_id"), table_name="gremlin_firings")
    op.drop_table("gremlin_firings")
