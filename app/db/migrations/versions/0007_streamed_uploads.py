"""uploads committed chunk by chunk: a receiving flag and a typed error code on ingestion jobs

Revision ID: 0007
Revises: 0006
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # An uploaded file's job is committed (and enqueued) with its first chunk; until the upload ends it is
    # `receiving`: chunk_count and total_rows grow, and the worker waits for more instead of finishing.
    op.add_column("ingestion_job", sa.Column("receiving", sa.Boolean(), nullable=False, server_default="false"))
    # The machine-readable reason of a FAILED job when there is one (UPLOAD_INTERRUPTED); `error` says more.
    op.add_column("ingestion_job", sa.Column("error_code", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ingestion_job", "error_code")
    op.drop_column("ingestion_job", "receiving")
