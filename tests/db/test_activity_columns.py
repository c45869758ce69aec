"""activity_queries builds Activity objects positionally from rows: its column list must follow the fields."""

from __future__ import annotations

from app.db.activity_queries import COLUMNS
from app.domain.activities import Activity


def test_columns_follow_the_activity_fields() -> None:
    assert COLUMNS.split(", ") == list(Activity._fields)
