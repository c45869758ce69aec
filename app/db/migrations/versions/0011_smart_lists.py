"""saved smart lists

Revision ID: 0011
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0011"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The definition is kept as the client wrote it (type and field names, relative windows): it is checked
    # against the live types each time the list is evaluated, so a renamed-away field is a typed error later.
    op.create_table(
        "smart_list",
        sa.Column("id", sa.BigInteger(), sa.Identity(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("definition", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_smart_list")),
    )
    op.create_index("uq_smart_list_name", "smart_list", [sa.text("lower(name)")], unique=True)


def downgrade() -> None:
    op.drop_index("uq_smart_list_name", table_name="smart_list")
    op.drop_table("smart_list")
