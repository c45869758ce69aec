"""triggers: webhook triggers, the outbox fed by a statement trigger on activity, deliveries

Revision ID: 0014
Revises: 0009
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

revision: str = "0014"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Every statement that stores activities (COPY or INSERT, whichever service runs it, now or later) adds one
# outbox row listing them, in its own transaction: the fan-out reads only committed outbox rows and deletes
# each in the transaction that creates its deliveries, so a crash repeats work but never skips an activity.
CAPTURE = """
CREATE FUNCTION trigger_outbox_capture() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM webhook_trigger WHERE deleted_at IS NULL) THEN
        INSERT INTO trigger_outbox (activity_ids, person_ids, occurred_ats, type_ids)
        SELECT array_agg(id ORDER BY id), array_agg(person_id ORDER BY id), array_agg(occurred_at ORDER BY id),
               array_agg(activity_type_id ORDER BY id)
        FROM new_activities HAVING count(*) > 0;
        IF FOUND THEN
            PERFORM pg_notify('trigger_outbox', '');
        END IF;
    END IF;
    RETURN NULL;
END $$
"""
ATTACH = """
CREATE TRIGGER activity_trigger_outbox AFTER INSERT ON activity REFERENCING NEW TABLE AS new_activities
    FOR EACH STATEMENT EXECUTE FUNCTION trigger_outbox_capture();
"""


def _instant(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=True)


def _now(name: str) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now())


def upgrade() -> None:
    op.create_table(
        "webhook_trigger",
        sa.Column("id", UUID(as_uuid=True), primary_key=True),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("activity_type_id", sa.Integer(), nullable=False),
        sa.Column("conditions", JSONB(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("batch_max_size", sa.Integer(), nullable=False),
        sa.Column("batch_max_wait_ms", sa.Integer(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        _instant("previous_secret_until"),
        _instant("secret_rotated_at"),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        _instant("last_success_at"),
        sa.Column("created_by", sa.Text(), nullable=True),
        _now("created_at"),
        _now("updated_at"),
        _instant("deleted_at"),
    )
    op.create_index("uq_webhook_trigger_name", "webhook_trigger", [sa.text("lower(name)")], unique=True,
                    postgresql_where=sa.text("deleted_at IS NULL"))
    op.create_table(
        "trigger_outbox",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("activity_ids", ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("person_ids", ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("occurred_ats", ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("type_ids", ARRAY(sa.Integer()), nullable=False),
        _now("created_at"),
    )
    op.create_table(
        "trigger_delivery",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("trigger_id", UUID(as_uuid=True), sa.ForeignKey("webhook_trigger.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("activity_ids", ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("person_ids", ARRAY(sa.BigInteger()), nullable=False),
        sa.Column("occurred_ats", ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        _now("next_attempt_at"),
        _instant("lease_until"),
        _instant("first_attempt_at"),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _now("created_at"),
        _instant("delivered_at"),
    )
    op.create_index("ix_trigger_delivery_trigger_id", "trigger_delivery", ["trigger_id", "id"])
    op.create_index("ix_trigger_delivery_open", "trigger_delivery", ["trigger_id", "id"],
                    postgresql_where=sa.text("status IN ('PENDING', 'SENDING')"))
    op.execute(CAPTURE)
    op.execute(ATTACH)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS activity_trigger_outbox ON activity")
    op.execute("DROP FUNCTION IF EXISTS trigger_outbox_capture()")
    op.drop_table("trigger_delivery")
    op.drop_table("trigger_outbox")
    op.drop_table("webhook_trigger")
