"""activity types: a row version bumped by every UPDATE, the snapshot cache's stamp (same on every Citus placement)

Revision ID: 0016
Revises: 0017
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0016"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The type snapshot cache stamped rows with xmin (the writing transaction's id). On Citus `activity_type` is a
# reference table and every placement has its own xmin, so the stamps read with a timeline page (from a worker's
# copy) never matched the coordinator's: the cache reloaded on every page. A version the row itself carries, bumped
# by a trigger on any UPDATE (hand-written SQL included), is the same on every placement: each applies the same
# update to the same old value.
BUMP = """
CREATE OR REPLACE FUNCTION activity_type_bump_row_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.row_version := OLD.row_version + 1;
    RETURN NEW;
END $$
"""


def upgrade() -> None:
    # Where activity_type is already a Citus reference table, Citus creates triggers on it only with this set; on
    # plain PostgreSQL it is an unused placeholder setting.
    op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    op.execute("ALTER TABLE activity_type ADD COLUMN row_version bigint NOT NULL DEFAULT 1")
    op.execute(BUMP)
    op.execute("CREATE TRIGGER activity_type_row_version BEFORE UPDATE ON activity_type "
               "FOR EACH ROW EXECUTE FUNCTION activity_type_bump_row_version()")


def downgrade() -> None:
    op.execute("SET LOCAL citus.enable_unsafe_triggers = on")
    op.execute("DROP TRIGGER activity_type_row_version ON activity_type")
    op.execute("DROP FUNCTION activity_type_bump_row_version()")
    op.execute("ALTER TABLE activity_type DROP COLUMN row_version")
