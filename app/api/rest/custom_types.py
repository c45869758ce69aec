"""`/rest/v1/activities/external/type...`: custom activity types through the same registry services as GraphQL."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.responses import Response

from app.api.rest.envelope import RestError, error, marketo_code, ok
from app.api.rest.handler import Call
from app.api.rest.shapes import attribute_in, data_type, definition_in, text, type_out
from app.domain.access import Principal
from app.domain.activity_types import PRIMARY
from app.domain.errors import DomainError, ErrorCode
from app.domain.registry_model import ActivityTypeSnapshot
from app.services import registry
from app.services import registry_admin as admin
from app.services.runtime import Resources

Change = Callable[[Resources, Principal], Awaitable[ActivityTypeSnapshot]]
PAGE = 100


async def _change(call: Call, change: Change, limit_code: int = 1003) -> ActivityTypeSnapshot:
    """Run one registry change; a LIMIT_EXCEEDED becomes `limit_code` (1027 types, 1028 fields)."""
    try:
        return await change(call.resources, call.principal)
    except DomainError as failure:
        errors = [
            error(limit_code if i.code is ErrorCode.LIMIT_EXCEEDED else marketo_code(i.code),
                  f"{i.field}: {i.message}" if i.field else i.message)
            for i in failure.issues
        ]
        raise RestError(int(errors[0]["code"]), errors=errors) from None


def _draft_shown(snapshot: ActivityTypeSnapshot) -> Response:
    return ok([type_out(snapshot, snapshot.latest)])


def _api_name(call: Call) -> str:
    return str(call.request.path_params["apiName"])


async def list_types(call: Call) -> Response:
    out: list[dict[str, Any]] = []
    after: int | None = None
    while True:
        page = await registry.list_types(call.resources, after_id=after, limit=PAGE, status=None, include_system=False)
        out.extend(type_out(s, s.shown) for s in page)
        if len(page) < PAGE:
            break
        after = page[-1].id
    return ok(out)


async def describe(call: Call) -> Response:
    api_name = _api_name(call)
    found = await registry.get_type(call.resources, api_name)
    if found is None or found.deleted_at is not None or found.is_system:
        raise RestError(1013, f"Custom activity type '{api_name}' not found")
    draft = call.params.get("draft", "false").lower() == "true"
    return ok([type_out(found, found.latest if draft else found.shown)])


async def create(call: Call) -> Response:
    definition = definition_in(await call.body())
    snapshot = await _change(call, lambda r, p: admin.create(r, p, definition), 1027)
    return _draft_shown(snapshot)


async def update(call: Call) -> Response:
    api_name, body = _api_name(call), await call.body()
    changes = {ours: text(body, theirs, "", required=False) for ours, theirs in
               (("name", "name"), ("trigger_name", "triggerName"), ("filter_name", "filterName"),
                ("description", "description")) if theirs in body}
    primary = body.get("primaryAttribute")
    if primary is not None and not isinstance(primary, dict):
        raise RestError(1003, "primaryAttribute: expected an object.")
    if primary and primary.get("apiName"):
        changes["primary_field"] = str(primary["apiName"])
    snapshot = await _change(call, lambda r, p: admin.update(r, p, api_name, changes))
    field_changes = {k: primary[k] for k in ("name", "description") if primary and k in primary}
    if field_changes:
        snapshot = await _change(call, lambda r, p: admin.update_field(r, p, api_name, PRIMARY,
                                                                             field_changes))
    return _draft_shown(snapshot)


async def approve(call: Call) -> Response:
    api_name = _api_name(call)
    snapshot = await _change(call, lambda r, p: admin.approve(r, p, api_name))
    return ok([type_out(snapshot, snapshot.shown)])


async def discard_draft(call: Call) -> Response:
    api_name = _api_name(call)
    snapshot = await _change(call, lambda r, p: admin.discard_draft(r, p, api_name))
    return ok([type_out(snapshot, snapshot.shown)])


async def delete(call: Call) -> Response:
    api_name = _api_name(call)
    snapshot = await _change(call, lambda r, p: admin.delete(r, p, api_name))
    return ok([{"id": snapshot.id, "apiName": snapshot.api_name}])


def _attributes(body: dict[str, Any]) -> list[dict[str, Any]]:
    items = body.get("attributes")
    if not isinstance(items, list) or not items:
        raise RestError(1002, "attributes: give a non-empty list.")
    if not all(isinstance(i, dict) for i in items):
        raise RestError(1003, "attributes: every item must be an object.")
    return items


async def create_attributes(call: Call) -> Response:
    api_name, items = _api_name(call), _attributes(await call.body())
    specs = [attribute_in(item, f"attributes[{n}]") for n, item in enumerate(items)]
    snapshot = await _change(call, lambda r, p: admin.add_fields(r, p, api_name, specs), 1028)
    snapshot = await _promote(call, api_name, items, snapshot)
    return _draft_shown(snapshot)


async def _promote(call: Call, api_name: str, items: list[dict[str, Any]],
                   snapshot: ActivityTypeSnapshot) -> ActivityTypeSnapshot:
    """`isPrimary: true` on an attribute makes it the primary one (the old primary becomes an attribute)."""
    chosen = [str(i.get("apiName")) for i in items if i.get("isPrimary") is True]
    if len(chosen) > 1:
        raise RestError(1003, "attributes: at most one attribute may be primary.")
    if chosen:
        changes = {"primary_field": chosen[0]}
        snapshot = await _change(call, lambda r, p: admin.update(r, p, api_name, changes))
    return snapshot


async def update_attributes(call: Call) -> Response:
    api_name, items = _api_name(call), _attributes(await call.body())
    snapshot: ActivityTypeSnapshot | None = None
    for n, item in enumerate(items):
        field = text(item, "apiName", f"attributes[{n}].") or ""
        changes: dict[str, Any] = {k: item[k] for k in ("name", "description") if k in item}
        if "dataType" in item:
            changes["data_type"] = data_type(item["dataType"], f"attributes[{n}]")
        if changes:
            snapshot = await _change(call, _field_update(api_name, field, changes))
    if any(i.get("isPrimary") is True for i in items):
        current = await registry.get_type(call.resources, api_name)
        assert current is not None
        snapshot = await _promote(call, api_name, items, current)
    if snapshot is None:
        snapshot = await registry.get_type(call.resources, api_name)
        if snapshot is None:
            raise RestError(1013, f"Custom activity type '{api_name}' not found")
    return _draft_shown(snapshot)


def _field_update(api_name: str, field: str, changes: dict[str, Any]) -> Change:
    return lambda r, p: admin.update_field(r, p, api_name, field, changes)


def _field_removal(api_name: str, field: str) -> Change:
    return lambda r, p: admin.remove_field(r, p, api_name, field)


async def delete_attributes(call: Call) -> Response:
    api_name, items = _api_name(call), _attributes(await call.body())
    snapshot: ActivityTypeSnapshot | None = None
    for n, item in enumerate(items):
        field = text(item, "apiName", f"attributes[{n}].") or ""
        snapshot = await _change(call, _field_removal(api_name, field))
    assert snapshot is not None
    return _draft_shown(snapshot)

