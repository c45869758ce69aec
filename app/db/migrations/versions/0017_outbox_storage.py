"""trigger outbox: its arrays stored out of line without compression (the statement trigger's main cost)

Revision ID: 0017
Revises: 0015
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("activity_ids", "person_ids", "occurred_ats", "type_ids")


def _storage(kind: str) -> None:
    op.execute("ALTER TABLE trigger_outbox " + ", ".join(f"ALTER COLUMN {c} SET STORAGE {kind}" for c in COLUMNS))


def upgrade() -> None:
    # An outbox row holds four arrays of a statement's activities (~140 KB for a 5,000-row import chunk) and lives
    # until the next fan-out. Compressing them (pglz, the default EXTENDED storage) was ~90% of the trigger's time:
    # EXPLAIN ANALYZE of a 5,000-row INSERT, trigger time 15-27 ms -> 1.5-3 ms (~4.4 -> ~0.4 us a row).
    _storage("EXTERNAL")


def downgrade() -> None:
    _storage("EXTENDED")
