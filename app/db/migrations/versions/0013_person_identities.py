"""person identity tables: emails and external ids in their own tables, unique there

Revision ID: 0013
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # On Citus a unique index must contain the distribution column, so `person` (distributed by id) cannot keep
    # unique indexes on lower(email) and external_id. Each identity gets its own table keyed by the value
    # (distributed by it on Citus): uniqueness stays enforced by a primary key and a lookup reads one row.
    # The application writes them in the same transaction as the person (app/db/person_repo.py); plain
    # PostgreSQL uses the same tables, so both engines behave alike.
    op.create_table(
        "person_email",
        sa.Column("email", sa.Text(), nullable=False),  # lower-cased; person.email keeps the spelling given
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("email", name=op.f("pk_person_email")),
    )
    op.create_table(
        "person_external_id",
        sa.Column("external_id", sa.Text(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("external_id", name=op.f("pk_person_external_id")),
    )
    op.execute("INSERT INTO person_email (email, person_id) SELECT lower(email), id FROM person WHERE email IS NOT NULL")
    op.execute(
        "INSERT INTO person_external_id (external_id, person_id) "
        "SELECT external_id, id FROM person WHERE external_id IS NOT NULL"
    )
    op.drop_index("uq_person_email", table_name="person")
    op.drop_index("uq_person_external_id", table_name="person")


def downgrade() -> None:
    op.create_index("uq_person_email", "person", [sa.literal_column("lower(email)")], unique=True)
    op.create_index("uq_person_external_id", "person", ["external_id"], unique=True)
    op.drop_table("person_external_id")
    op.drop_table("person_email")
