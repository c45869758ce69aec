"""uploads that can be resumed: the last row an upload committed, and the row a resumed upload starts at

Revision ID: 0009
Revises: 0007
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The row number (line, or CSV record) of the last row of an upload's committed chunks: an interrupted
    # upload is resumed from the row after it (`resumeFrom`), so no row is sent twice.
    op.add_column("ingestion_job", sa.Column("received_through", sa.BigInteger(), nullable=True))
    # importActivities(resumeFrom): rows numbered before it were skipped (part of the job key's request).
    op.add_column("ingestion_job", sa.Column("resume_from", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column("ingestion_job", "resume_from")
    op.drop_column("ingestion_job", "received_through")
