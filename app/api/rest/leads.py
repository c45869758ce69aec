"""`/rest/v1/leads.json` and `/rest/v1/lead/{id}.json`: the minimum integrations need to get a leadId (a person)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from app.api.rest.envelope import RestError, error, issue_errors, ok
from app.api.rest.handler import Call
from app.api.rest.shapes import marketo_time
from app.domain.activities import Person
from app.domain.errors import DomainError
from app.services import persons
from app.services.persons import PersonUpsert

ACTIONS = ("createOrUpdate", "createOnly", "updateOnly")
LOOKUP = {"email": "email", "id": "id", "externalId": "external_id"}
MAX_FILTER_VALUES = 300


def lead_out(p: Person) -> dict[str, Any]:
    return {"id": p.id, "email": p.email, "externalId": p.external_id, "firstName": p.first_name,
            "lastName": p.last_name, "createdAt": marketo_time(p.created_at), "updatedAt": marketo_time(p.updated_at)}


def _upsert_item(data: object) -> PersonUpsert:
    if not isinstance(data, dict):
        raise RestError(1003, "input: every lead must be an object.")
    values = {k: data.get(k) for k in ("email", "externalId", "firstName", "lastName")}
    if any(v is not None and not isinstance(v, str) for v in values.values()):
        raise RestError(1003, "input: email, externalId, firstName and lastName are strings.")
    lead_id = data.get("id")
    if lead_id is not None and (not isinstance(lead_id, int) or isinstance(lead_id, bool)):
        raise RestError(1003, "input: id is an integer.")
    return PersonUpsert(id=lead_id, email=values["email"], external_id=values["externalId"],
                        first_name=values["firstName"], last_name=values["lastName"])


async def _find(call: Call, kind: str, value: str | int | None) -> Person | None:
    """The person whose `kind` (id, email, external_id) is `value`."""
    if value is None:
        return None
    if kind == "id":
        return await persons.get(call.resources, person_id=int(value))
    if kind == "email":
        return await persons.get(call.resources, email=str(value))
    return await persons.get(call.resources, external_id=str(value))


async def _exists(call: Call, item: PersonUpsert, lookup: str) -> bool:
    value = {"email": item.email, "id": item.id, "external_id": item.external_id}[lookup]
    return await _find(call, lookup, value) is not None


async def sync(call: Call) -> Response:
    body = await call.body()
    action, lookup = body.get("action", "createOrUpdate"), body.get("lookupField", "email")
    if action not in ACTIONS:
        raise RestError(1003, f"action: one of {', '.join(ACTIONS)}.")
    if lookup not in LOOKUP:
        raise RestError(1003, f"lookupField: one of {', '.join(LOOKUP)}.")
    raw = body.get("input")
    if not isinstance(raw, list) or not raw:
        raise RestError(1002, "input: give a non-empty list of leads.")
    items = [_upsert_item(i) for i in raw]
    result: list[dict[str, Any] | None] = [None] * len(items)
    send: list[int] = []
    for n, item in enumerate(items):
        if action != "createOrUpdate":  # Marketo's createOnly / updateOnly: decided before the shared upsert
            exists = await _exists(call, item, LOOKUP[lookup])
            if action == "createOnly" and exists:
                result[n] = {"status": "skipped", "reasons": [error(1005)]}
                continue
            if action == "updateOnly" and not exists:
                result[n] = {"status": "skipped", "reasons": [error(1004)]}
                continue
        send.append(n)
    try:
        outcomes = await persons.upsert(call.resources, [items[n] for n in send])
    except DomainError as failure:
        raise RestError(1003, errors=issue_errors(failure.issues)) from None
    for n, outcome in zip(send, outcomes, strict=True):
        if outcome.person is None:
            result[n] = {"status": "skipped", "reasons": issue_errors(outcome.issues)}
        else:
            result[n] = {"id": outcome.person.id, "status": "created" if outcome.created else "updated"}
    return ok([r for r in result if r is not None])


async def by_filter(call: Call) -> Response:
    params = call.params
    kind, raw = params.get("filterType"), params.get("filterValues") or ""
    if kind not in LOOKUP:
        raise RestError(1003, f"filterType: one of {', '.join(LOOKUP)} is supported.")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    if not values:
        raise RestError(1002, "filterValues: a value is required.")
    if len(values) > MAX_FILTER_VALUES:
        raise RestError(1003, f"filterValues: at most {MAX_FILTER_VALUES} values.")
    found: list[Person] = []
    for value in values:
        if kind == "id" and not value.isdigit():
            raise RestError(1003, f"filterValues: '{value}' is not an id.")
        person = await _find(call, LOOKUP[kind], value)
        if person is not None and person.id not in {p.id for p in found}:
            found.append(person)
    return ok([lead_out(p) for p in found])


async def by_id(call: Call) -> Response:
    raw = str(call.request.path_params["leadId"])
    if not raw.isdigit():
        raise RestError(1003, f"'{raw}' is not a lead id.")
    person = await persons.get(call.resources, person_id=int(raw))
    return ok([lead_out(person)] if person is not None else [])
