"""registry (activity types, standard types seed)

Revision ID: 0002
Revises: 0001
"""
import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.domain.standard_types import STANDARD_TYPES

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Seed the standard types as approved version 1, read-only. ON CONFLICT keeps re-runs harmless.
    conn = op.get_bind()
    for definition in STANDARD_TYPES:
        type_id = conn.execute(
            sa.text(
                "INSERT INTO activity_type (api_name, name, trigger_name, filter_name, status, is_system, "
                "current_version) VALUES (:api, :name, :trigger, :filter, 'APPROVED', true, 1) "
                "ON CONFLICT DO NOTHING RETURNING id"
            ),
            {
                "api": definition.api_name,
                "name": definition.name,
                "trigger": definition.trigger_name,
                "filter": definition.filter_name,
            },
        ).scalar()
        if type_id is None:
            continue
        conn.execute(
            sa.text(
                "INSERT INTO activity_type_version (activity_type_id, version, definition, approved_by) "
                "VALUES (:id, 1, CAST(:definition AS jsonb), 'system')"
            ),
            {"id": type_id, "definition": json.dumps(definition.to_json())},
        )


def downgrade() -> None:
    op.execute("DELETE FROM activity_type WHERE is_system")
