"""The smart-list service on the real database: the saved-list limit, name checks, and update refusals."""

from __future__ import annotations

import dataclasses

import pytest

from app.domain.access import Principal
from app.domain.errors import DomainError, ErrorCode
from app.domain.filters import FieldCondition, FieldOperator
from app.domain.smart_lists import PersonFilter, SmartListDefinition
from app.services import smart_lists
from app.services.runtime import Resources

ACTOR = Principal.local_admin()
EVERYONE = SmartListDefinition((PersonFilter(where=(FieldCondition("email", FieldOperator.IS_NOT_EMPTY),)),))


async def _codes(call: object) -> list[tuple[ErrorCode, str | None]]:
    with pytest.raises(DomainError) as caught:
        await call  # type: ignore[misc]
    return [(i.code, i.field) for i in caught.value.issues]


async def test_the_saved_list_limit_holds(resources: Resources) -> None:
    tight = resources.settings.model_copy(
        update={"limits": resources.settings.limits.model_copy(update={"max_smart_lists": 1})}
    )
    limited = dataclasses.replace(resources, settings=tight)
    await smart_lists.create(limited, ACTOR, "one", None, EVERYONE)
    assert await _codes(smart_lists.create(limited, ACTOR, "two", None, EVERYONE)) == [
        (ErrorCode.LIMIT_EXCEEDED, "input")
    ]
    page, more = await smart_lists.page(limited, first=10, after=None)
    assert [s.name for s in page] == ["one"] and not more


async def test_names_and_updates(resources: Resources) -> None:
    first = await smart_lists.create(resources, ACTOR, "  First ", "d", EVERYONE)
    assert first.name == "First"
    second = await smart_lists.create(resources, ACTOR, "Second", None, EVERYONE)
    assert await _codes(smart_lists.create(resources, ACTOR, " ", "x" * 2001, EVERYONE)) == [
        (ErrorCode.REQUIRED, "input.name"),
        (ErrorCode.TOO_LONG, "input.description"),
    ]
    rename = smart_lists.ListChange(name="FIRST")
    assert await _codes(smart_lists.update(resources, ACTOR, second.id, rename)) == [
        (ErrorCode.DUPLICATE, "input.name")
    ]
    assert await _codes(smart_lists.update(resources, ACTOR, 10**9, smart_lists.ListChange(name="x"))) == [
        (ErrorCode.NOT_FOUND, "id")
    ]
    bad = SmartListDefinition(())
    assert await _codes(smart_lists.update(resources, ACTOR, second.id, smart_lists.ListChange(definition=bad))) == [
        (ErrorCode.REQUIRED, "input.definition.filters")
    ]
    unchanged = await smart_lists.get(resources, second.id)
    assert unchanged is not None and unchanged.definition == EVERYONE and unchanged.name == "Second"
