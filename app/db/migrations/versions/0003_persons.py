"""persons and timelines

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Incremental sync across persons (`activities(filter: {ingestedAfter})`): ingested_at follows insertion
    # order, so a BRIN index finds recent rows from a few kB of index at almost no write cost (measured:
    # insert throughput unchanged within noise; a btree on (person_id, activity_type_id, occurred_at) would
    # have cost ~40% and was left out, see docs/timelines-and-search.md).
    op.create_index(
        "ix_activity_ingested_brin", "activity", ["ingested_at"], unique=False, postgresql_using="brin"
    )


def downgrade() -> None:
    op.drop_index("ix_activity_ingested_brin", table_name="activity", postgresql_using="brin")
