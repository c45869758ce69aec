"""Relay connections: one Edge/Connection shape, named and described per node type, and PageInfo from a page."""

from __future__ import annotations

import types
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, Self, TypeVar, dataclass_transform, get_args

import strawberry
from strawberry.relay import PageInfo

from app.api.execution.internals import StrawberryField

NodeT = TypeVar("NodeT")
ItemT = TypeVar("ItemT")
ConnectionT = TypeVar("ConnectionT", bound="Connection[Any]")

CURSOR = "Opaque cursor for `after`."
KEYSET_CURSOR = "Opaque keyset cursor for `after`."


@dataclass(kw_only=True)
class Edge(Generic[NodeT]):
    """A node and the cursor that points at it; each connection has its own GraphQL edge type (see `connection`)."""

    cursor: str
    node: NodeT


def page_info(edges: Sequence[Edge[Any]], has_next: bool, has_previous: bool) -> PageInfo:
    """The PageInfo of a page of edges: its first and last cursors, and whether pages exist after and before it."""
    start, end = (edges[0].cursor, edges[-1].cursor) if edges else (None, None)
    return cursors_page_info(start, end, has_next, has_previous)


def cursors_page_info(start: str | None, end: str | None, has_next: bool, has_previous: bool) -> PageInfo:
    """The PageInfo of a page whose first and last cursors are `start` and `end` (None for an empty page)."""
    return PageInfo(has_next_page=has_next, has_previous_page=has_previous, start_cursor=start, end_cursor=end)


@dataclass(kw_only=True)
class Connection(Generic[NodeT]):
    """A page of edges; `connection` makes a subclass a GraphQL type (its own fields come after these two)."""

    edges: list[Edge[NodeT]]
    page_info: PageInfo
    edge: ClassVar[type[Edge[Any]]]
    """The subclass's edge type (`<Name>Edge` for `<Name>Connection`)."""

    @classmethod
    def edges_of(
        cls, items: Iterable[ItemT], cursor: Callable[[ItemT], str], node: Callable[[ItemT], NodeT]
    ) -> list[Edge[NodeT]]:
        edge = cls.edge
        return [edge(cursor=cursor(item), node=node(item)) for item in items]

    @classmethod
    def page(
        cls, items: Iterable[ItemT], cursor: Callable[[ItemT], str], node: Callable[[ItemT], NodeT], *,
        has_next: bool, has_previous: bool,
    ) -> Self:
        """The connection of a page of items (for connections with no fields of their own)."""
        edges = cls.edges_of(items, cursor, node)
        return cls(edges=edges, page_info=page_info(edges, has_next, has_previous))


@dataclass_transform(kw_only_default=True, field_specifiers=(strawberry.field, StrawberryField))
def connection(
    description: str, *, edges: str, edge: str, node: str, cursor: str = CURSOR
) -> Callable[[type[ConnectionT]], type[ConnectionT]]:
    """Make `class <Name>Connection(Connection[T])` the GraphQL type of its name, and its edge type `<Name>Edge`.

    The arguments describe the connection, its `edges` field, the edge type, its `node` and `cursor` fields. All
    four fields stay plain attributes (no resolvers), which app/api/execution/fast_executor.py completes directly.
    """

    def make(cls: type[ConnectionT]) -> type[ConnectionT]:
        (node_type,) = get_args(vars(cls)["__orig_bases__"][0])  # T of Connection[T]
        edge_fields = {"cursor": strawberry.field(description=cursor), "node": strawberry.field(description=node)}
        generic: Any = Edge  # Edge[node_type], which mypy refuses for a runtime type
        edge_type = types.new_class(
            cls.__name__.removesuffix("Connection") + "Edge",
            (generic[node_type],),
            exec_body=lambda ns: ns.update(edge_fields, __annotations__={"cursor": str, "node": node_type}),
        )
        edge_type.__module__ = cls.__module__
        cls.edge = strawberry.type(edge_type, description=edge)
        own = vars(cls).get("__annotations__", {})  # the subclass's own fields, after edges and pageInfo
        cls.__annotations__ = {"edges": list[cls.edge], "page_info": PageInfo, **own}  # type: ignore[name-defined]
        for name, text in {"edges": edges, "page_info": "Cursors and whether more pages exist."}.items():
            setattr(cls, name, strawberry.field(description=text))
        return strawberry.type(cls, description=description)

    return make
