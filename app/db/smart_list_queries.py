"""Smart lists compiled to one SQL statement each: members (keyset on person id), counts, memberships."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from app.db.activity_queries import Sql, condition
from app.domain import smart_list_logic as logic
from app.domain.activities import Person
from app.domain.smart_list_resolve import ResolvedActivityFilter, ResolvedPersonFilter, ResolvedSmartList

PERSON_COLUMNS = "p.id, p.email, p.external_id, p.first_name, p.last_name, p.created_at, p.updated_at"
"""In the order of Person's fields (rows are built with Person(*row))."""

# Person attributes as the jsonb values person conditions compare (filters.condition reads jsonb); the instant is
# printed in UTC with a fixed format, so it never depends on the session's TimeZone.
_PERSON_VALUE = {
    "email": "to_jsonb(p.email)",
    "externalId": "to_jsonb(p.external_id)",
    "firstName": "to_jsonb(p.first_name)",
    "lastName": "to_jsonb(p.last_name)",
    "createdAt": "to_jsonb(to_char(p.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'))",
}


def predicate(sql: Sql, lst: ResolvedSmartList, counts: Counts | None = None) -> str:
    """The list's test of the person row `p`, as one boolean expression (never NULL).

    Set form (no `counts`, for members and counts): "did it at all" is EXISTS; a count is `p.id IN (persons
    whose matching activities, grouped, pass the counts)`, answered by one grouped scan per filter.
    Counted form (for one person's memberships): each activity filter compares a count that `counts` gathers in
    one pass over that person's activities.
    """
    return _tree(sql, lst, lst.logic, counts)


def _tree(sql: Sql, lst: ResolvedSmartList, node: logic.Node, counts: Counts | None) -> str:
    # Filters are compiled where the logic names them: a filter it never names adds no (untyped) parameters.
    if isinstance(node, logic.Ref):
        f = lst.filters[node.number - 1]
        if isinstance(f, ResolvedPersonFilter):
            return _person(sql, f)
        inside = _grouped(sql, f) if counts is None else counts.test(sql, f)
        return inside if f.did else f"NOT ({inside})"
    if isinstance(node, logic.Not):
        return f"NOT ({_tree(sql, lst, node.child, counts)})"
    word = " AND " if isinstance(node, logic.And) else " OR "
    return "(" + word.join(_tree(sql, lst, c, counts) for c in node.children) + ")"


def _activity_where(sql: Sql, f: ResolvedActivityFilter) -> str:
    clauses = [f"a.activity_type_id = {sql.param(f.type_id, 'int')}"]
    if f.type_versions is not None:
        clauses.append(f"a.type_version = ANY({sql.param(list(f.type_versions), 'int[]')})")
    if f.occurred_after is not None:
        clauses.append(f"a.occurred_at >= {sql.param(f.occurred_after, 'timestamptz')}")
    if f.occurred_before is not None:
        clauses.append(f"a.occurred_at < {sql.param(f.occurred_before, 'timestamptz')}")
    # The conditions name primary_value and fields unqualified: inside this subquery they are the activity's.
    clauses.extend(condition(sql, c) for c in f.conditions)
    return " AND ".join(clauses)


def _grouped(sql: Sql, f: ResolvedActivityFilter) -> str:
    if f.min_times == 0 and f.max_times is None:
        return "TRUE"
    where = _activity_where(sql, f)
    persons = f"SELECT a.person_id FROM activity a WHERE {where}"
    if f.min_times == 0:
        # "at most N" holds for persons with no matching activity too: the complement of "more than N".
        assert f.max_times is not None
        over = sql.param(f.max_times, "bigint")
        return f"NOT (p.id IN ({persons} GROUP BY a.person_id HAVING count(*) > {over}))"
    if f.min_times == 1 and f.max_times is None:
        # "Did it at all": EXISTS lets the planner choose a semi/anti join (probing the primary key per person)
        # or a hashed subplan, whichever the other filters make cheaper.
        return f"EXISTS (SELECT 1 FROM activity a WHERE a.person_id = p.id AND {where})"
    having = f"count(*) >= {sql.param(f.min_times, 'bigint')}"
    if f.max_times is not None:
        having += f" AND count(*) <= {sql.param(f.max_times, 'bigint')}"
    return f"p.id IN ({persons} GROUP BY a.person_id HAVING {having})"


class Counts:
    """One person's matching activities per distinct activity filter, counted in a single pass.

    Probing each filter on its own (EXISTS, LIMITed counts) reads a very active person's activities once per
    filter that finds nothing, for every list: 10 lists with a "did not" filter read 82k activities 10 times
    (230-450 ms on the bench data; about half that in one pass). One pass reads them once, whatever the lists;
    filters that several lists share are counted once."""

    def __init__(self) -> None:
        self.columns: dict[tuple[object, ...], str] = {}
        self.aggregates: list[str] = []
        self.type_ids: set[int] = set()

    def test(self, sql: Sql, f: ResolvedActivityFilter) -> str:
        if f.min_times == 0 and f.max_times is None:
            return "TRUE"
        key = (f.type_id, f.type_versions, f.occurred_after, f.occurred_before, f.conditions)
        column = self.columns.get(key)
        if column is None:
            column = self.columns[key] = f"n{len(self.columns)}"
            self.aggregates.append(f"count(*) FILTER (WHERE {_activity_where(sql, f)}) AS {column}")
            self.type_ids.add(f.type_id)
        test = f"n.{column} >= {sql.param(f.min_times, 'bigint')}"
        if f.max_times is not None:
            test += f" AND n.{column} <= {sql.param(f.max_times, 'bigint')}"
        return f"({test})"


def _person(sql: Sql, f: ResolvedPersonFilter) -> str:
    clauses = []
    if f.created_after is not None:
        clauses.append(f"p.created_at >= {sql.param(f.created_after, 'timestamptz')}")
    if f.created_before is not None:
        clauses.append(f"p.created_at < {sql.param(f.created_before, 'timestamptz')}")
    # A comparison with a NULL attribute is NULL in SQL and false in the domain: NOT must see false.
    clauses.extend(f"COALESCE({condition(sql, c, _PERSON_VALUE[c.field])}, false)" for c in f.conditions)
    return "(" + " AND ".join(clauses) + ")"


def members_sql(lst: ResolvedSmartList, *, limit: int, after: int | None) -> tuple[str, list[Any]]:
    """The members page query: persons in the list with id > `after`, by id, `limit` + 1 rows (to see more)."""
    sql = Sql()
    test = predicate(sql, lst)
    start = "" if after is None else f" AND p.id > {sql.param(after, 'bigint')}"
    query = (
        f"SELECT {PERSON_COLUMNS} FROM person p WHERE {test}{start} "
        f"ORDER BY p.id LIMIT {sql.param(limit + 1, 'bigint')}"
    )
    return query, sql.params


def count_sql(lst: ResolvedSmartList) -> tuple[str, list[Any]]:
    sql = Sql()
    test = predicate(sql, lst)
    return f"SELECT count(*) FROM person p WHERE {test}", sql.params


async def members(conn: Any, lst: ResolvedSmartList, *, limit: int, after: int | None) -> tuple[list[Person], bool]:
    """Up to `limit` members with id > `after`, ascending, and whether more exist."""
    query, params = members_sql(lst, limit=limit, after=after)
    rows = await conn.fetch(query, *params)
    return [Person(*r) for r in rows[:limit]], len(rows) > limit


async def count(conn: Any, lst: ResolvedSmartList) -> int:
    """The exact number of members."""
    query, params = count_sql(lst)
    return int(await conn.fetchval(query, *params))


def memberships_sql(person_id: int, lists: Sequence[ResolvedSmartList]) -> tuple[str, list[Any]]:
    """One row: for each list, whether person `person_id` is in it (no row if there is no such person)."""
    sql, counts = Sql(), Counts()
    tests = ", ".join(predicate(sql, lst, counts) for lst in lists)
    counted = ""
    if counts.aggregates:
        types = sql.param(sorted(counts.type_ids), "int[]")
        counted = (f" CROSS JOIN LATERAL (SELECT {', '.join(counts.aggregates)} FROM activity a "
                   f"WHERE a.person_id = p.id AND a.activity_type_id = ANY({types})) n")
    query = f"SELECT ARRAY[{tests}]::boolean[] FROM person p{counted} WHERE p.id = {sql.param(person_id, 'bigint')}"
    return query, sql.params


async def memberships(conn: Any, person_id: int, lists: Sequence[ResolvedSmartList]) -> list[bool]:
    """For each list, whether person `person_id` is in it now (one statement; all false if no such person)."""
    if not lists:
        return []
    query, params = memberships_sql(person_id, lists)
    row = await conn.fetchval(query, *params)
    return [bool(x) for x in row] if row is not None else [False] * len(lists)
