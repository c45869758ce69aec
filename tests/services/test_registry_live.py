"""Live types for ingestion: the seeded standard types load with compiled validators."""

from __future__ import annotations

from app.services.registry import get_definition, load_live_types, types_by_ids
from app.services.runtime import Resources


async def test_standard_types_are_live_and_validate(resources: Resources) -> None:
    live = await load_live_types(resources)
    visit = live["visitwebpage"]
    assert visit.is_system and visit.version == 1 and visit.api_name == "visitWebpage"
    assert {"fillout form", "clickemail"} & set(live) == {"clickemail"}
    record = visit.validator.validate("https://example.com/pricing", {"referrerUrl": "https://google.com/"})
    assert not isinstance(record, list)
    assert record.primary_value == "https://example.com/pricing"
    definition = await get_definition(resources, visit.id, 1)
    assert definition == visit.definition
    assert await get_definition(resources, visit.id, 2) is None
    found = await types_by_ids(resources, [visit.id, 999_999])
    assert list(found) == [visit.id] and found[visit.id].live == visit.definition
