"""ingestion job idempotency key scoped per principal, with the request's payload digest

Revision ID: 0006
Revises: 0005
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A job key belongs to the API key that used it: another principal reusing it gets its own job.
    op.drop_index("uq_ingestion_job_idempotency_key", table_name="ingestion_job")
    op.create_index(
        "uq_ingestion_job_creator_key", "ingestion_job", ["created_by", "idempotency_key"], unique=True
    )
    # SHA-256 of the payload (inline JSON rows or the uploaded bytes); NULL for jobs created before 0006,
    # whose reuse is then judged on the stored options alone.
    op.add_column("ingestion_job", sa.Column("payload_sha256", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("ingestion_job", "payload_sha256")
    op.drop_index("uq_ingestion_job_creator_key", table_name="ingestion_job")
    op.create_index("uq_ingestion_job_idempotency_key", "ingestion_job", ["idempotency_key"], unique=True)
