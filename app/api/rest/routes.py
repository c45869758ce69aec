"""The Marketo-compatible REST facade's routes, each with the GraphQL scope of the same operation."""

from __future__ import annotations

from collections.abc import Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from app.api.auth import Authenticator
from app.api.rest import activities, bulk_exports, custom_types, leads
from app.api.rest.envelope import fail_code
from app.api.rest.handler import Gate, Handler
from app.api.rest.identity import token_endpoint
from app.domain.access import Scope
from app.services.runtime import Resources
from app.settings import Settings

TYPE = "/rest/v1/activities/external/type/{apiName}"
EXPORT = "/bulk/v1/activities/export"

# (method, path, scope, handler): the scope is the one GraphQL asks for the same operation.
ENDPOINTS: tuple[tuple[str, str, Scope, Handler], ...] = (
    ("GET", "/rest/v1/activities/external/types.json", Scope.READ, custom_types.list_types),
    ("POST", "/rest/v1/activities/external/type.json", Scope.TYPES_ADMIN, custom_types.create),
    ("GET", TYPE + "/describe.json", Scope.READ, custom_types.describe),
    ("POST", TYPE + "/approve.json", Scope.TYPES_ADMIN, custom_types.approve),
    ("POST", TYPE + "/discardDraft.json", Scope.TYPES_ADMIN, custom_types.discard_draft),
    ("POST", TYPE + "/delete.json", Scope.TYPES_ADMIN, custom_types.delete),
    ("POST", TYPE + "/attributes/create.json", Scope.TYPES_ADMIN, custom_types.create_attributes),
    ("POST", TYPE + "/attributes/update.json", Scope.TYPES_ADMIN, custom_types.update_attributes),
    ("POST", TYPE + "/attributes/delete.json", Scope.TYPES_ADMIN, custom_types.delete_attributes),
    ("POST", TYPE + ".json", Scope.TYPES_ADMIN, custom_types.update),
    ("POST", "/rest/v1/activities/external.json", Scope.ACTIVITIES_WRITE, activities.add_custom),
    ("GET", "/rest/v1/activities/types.json", Scope.READ, activities.types),
    ("GET", "/rest/v1/activities/pagingtoken.json", Scope.READ, activities.paging_token),
    ("GET", "/rest/v1/activities.json", Scope.READ, activities.read),
    ("POST", "/rest/v1/leads.json", Scope.ACTIVITIES_WRITE, leads.sync),
    ("GET", "/rest/v1/leads.json", Scope.READ, leads.by_filter),
    ("GET", "/rest/v1/lead/{leadId}.json", Scope.READ, leads.by_id),
    # Exports ask for `read` as GraphQL's exportActivities does; a key sees its own jobs unless it is an admin.
    ("POST", EXPORT + "/create.json", Scope.READ, bulk_exports.create),
    ("POST", EXPORT + "/{exportId}/enqueue.json", Scope.READ, bulk_exports.enqueue),
    ("GET", EXPORT + "/{exportId}/status.json", Scope.READ, bulk_exports.status),
    ("GET", EXPORT + "/{exportId}/file.json", Scope.READ, bulk_exports.file),
    ("POST", EXPORT + "/{exportId}/cancel.json", Scope.READ, bulk_exports.cancel),
    ("GET", EXPORT + ".json", Scope.READ, bulk_exports.list_jobs),
)


async def not_found(request: Request) -> Response:
    return fail_code(610)


def rest_routes(settings: Settings, authenticator: Authenticator,
                resources: Callable[[], Resources]) -> list[BaseRoute]:
    gate = Gate(settings, authenticator, resources)
    routes: list[BaseRoute] = [Route("/identity/oauth/token", token_endpoint(resources), methods=["GET", "POST"])]
    by_path: dict[str, dict[str, tuple[Scope, Handler]]] = {}
    for method, path, scope, handler in ENDPOINTS:
        by_path.setdefault(path, {})[method] = (scope, handler)
    # POST is always routed: a form POST with `_method=GET` stands for the GET of the same path.
    routes.extend(Route(path, gate.endpoint(handlers), methods=["GET", "POST"]) for path, handlers in by_path.items())
    # Anything else under the facade's prefixes gets Marketo's 610 rather than a bare 404 page.
    routes.extend(Route(prefix + "/{rest:path}", not_found, methods=["GET", "POST"])
                  for prefix in ("/rest", "/bulk"))
    return routes
