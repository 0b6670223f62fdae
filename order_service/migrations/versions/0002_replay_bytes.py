"""idempotency replay: keep the answer's JSON text as sent

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.alter_column(
        "idempotency_keys",
        "response_body",
        type_=sa.Text(),
        postgresql_using="response_body::text",
    )


def downgrade() -> None:
    op.alter_column(
        "idempotency_keys",
        "response_body",
        type_=postgresql.JSONB(),
        postgresql_using="response_body::jsonb",
    )
