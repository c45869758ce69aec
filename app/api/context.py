"""The typed GraphQL context and the `Info` alias resolvers use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from app.api.loaders import Loaders
from app.domain.access import Principal
from app.services.runtime import Resources
from app.settings import Settings


@dataclass
class Context:
    """One per HTTP request or WebSocket connection."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    resources: Resources
    principal: Principal | None
    loaders: Loaders
    extra: dict[str, Any] = field(default_factory=dict)
    connection_params: dict[str, Any] | None = None  # graphql-transport-ws `connection_init` payload

    @property
    def settings(self) -> Settings:
        return self.resources.settings


Info = strawberry.Info[Context, None]
