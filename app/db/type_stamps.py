"""Version stamps of activity-type rows, in one string: what the type snapshot cache checks on every use."""

from __future__ import annotations

# row_version is bumped by a trigger on every UPDATE of the row, even one that leaves updated_at alone
# (hand-written SQL, test fixtures), and is the same on every Citus placement (migration 0016; xmin was not).
# The stamps of all the wanted rows come back as one string ("id version,..." by id): one value to decode and,
# for a set of types seen before, one comparison.
_AGGREGATE = "string_agg(t.id::text || ' ' || t.row_version::text, ',' ORDER BY t.id)"
BY_IDS = f"SELECT {_AGGREGATE} FROM activity_type t WHERE t.id = ANY($1::int[])"
OF_PAGE = f"SELECT {_AGGREGATE} FROM activity_type t WHERE t.id IN (SELECT activity_type_id FROM page)"
"""The stamps of the types of the rows of a CTE named `page` (read in the same statement as those rows)."""


def split(stamps: str | None) -> dict[int, str]:
    """Type id -> that row's stamp."""
    found: dict[int, str] = {}
    for part in stamps.split(",") if stamps else ():
        type_id, _, stamp = part.partition(" ")
        found[int(type_id)] = stamp
    return found
