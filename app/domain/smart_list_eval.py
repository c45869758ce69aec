"""The pure smart-list evaluator over in-memory persons and activities: the oracle the SQL is tested against."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from app.domain import smart_list_logic as logic
from app.domain.activities import Activity, Person
from app.domain.smart_list_resolve import ResolvedActivityFilter, ResolvedSmartList


def is_member(resolved: ResolvedSmartList, person: Person, activities: Iterable[Activity]) -> bool:
    """Whether `person` (with `activities`, theirs or anyone's: others' are ignored) is in the list."""
    own = [a for a in activities if a.person_id == person.id]
    results = [
        f.holds(sum(1 for a in own if f.matches(a))) if isinstance(f, ResolvedActivityFilter) else f.holds(person)
        for f in resolved.filters
    ]
    return logic.holds(resolved.logic, results)


def members(resolved: ResolvedSmartList, persons: Iterable[Person], activities: Iterable[Activity]) -> list[int]:
    """Ids of the persons in the list, ascending (the order of the members connection)."""
    by_person: dict[int, list[Activity]] = defaultdict(list)
    for activity in activities:
        by_person[activity.person_id].append(activity)
    return sorted(p.id for p in persons if is_member(resolved, p, by_person[p.id]))
