"""trigger outbox keyed by person: a distribution column for Citus, a capture function that runs on shards

Revision ID: 0015
Revises: 0014
"""
import importlib.util
from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# On Citus the statement trigger on `activity` fires on each shard a statement writes to, with that shard's
# rows in `new_activities`; the outbox is distributed by `person_id` co-located with `activity`, so the row it
# writes lands in the co-located outbox shard, on the same node, in the same (two-phase) transaction as the
# activities. Hence: the outbox row's `person_id` is one of its activities' persons (all of them hash to the
# shard); the rows are read into variables first (Citus cannot plan a distributed INSERT ... SELECT from a
# transition table); and only the trigger on the table itself notifies (a shard's transaction is prepared for
# two-phase commit, which NOTIFY forbids; on Citus the delivery loop's poll finds the row).
CAPTURE = """
CREATE OR REPLACE FUNCTION trigger_outbox_capture() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
    persons bigint[];
    instants timestamptz[];
    types int[];
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_trigger WHERE deleted_at IS NULL) THEN
        SELECT array_agg(id ORDER BY id), array_agg(person_id ORDER BY id), array_agg(occurred_at ORDER BY id),
               array_agg(activity_type_id ORDER BY id)
        INTO ids, persons, instants, types FROM new_activities;
        IF ids IS NOT NULL THEN
            INSERT INTO trigger_outbox (person_id, activity_ids, person_ids, occurred_ats, type_ids)
            VALUES (persons[1], ids, persons, instants, types);
            IF TG_TABLE_NAME = 'activity' THEN
                PERFORM pg_notify('trigger_outbox', '');
            END IF;
        END IF;
    END IF;
    RETURN NULL;
END $$
"""

def upgrade() -> None:
    op.add_column("trigger_outbox", sa.Column("person_id", sa.BigInteger(), nullable=True))
    op.execute("UPDATE trigger_outbox SET person_id = person_ids[1]")
    op.alter_column("trigger_outbox", "person_id", nullable=False)
    # Citus: a primary key must contain the distribution column.
    op.drop_constraint("pk_trigger_outbox", "trigger_outbox", type_="primary")
    op.create_primary_key("pk_trigger_outbox", "trigger_outbox", ["person_id", "id"])
    op.execute(CAPTURE)


def downgrade() -> None:
    # 0014's function, as it was: loaded from its file (a migration is not an importable module).
    spec = importlib.util.spec_from_file_location("migration_0014", Path(__file__).with_name("0014_triggers.py"))
    assert spec is not None and spec.loader is not None
    previous = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(previous)
    op.execute(previous.CAPTURE.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.drop_constraint("pk_trigger_outbox", "trigger_outbox", type_="primary")
    op.create_primary_key("pk_trigger_outbox", "trigger_outbox", ["id"])
    op.drop_column("trigger_outbox", "person_id")
