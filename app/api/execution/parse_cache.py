"""A parse cache that never parses inside its hook, so parse errors (token limit) keep their normal handling."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Iterator

from graphql import DocumentNode
from strawberry.extensions import SchemaExtension

MAX_CACHED_QUERY = 20_000
"""Longer documents are parsed every time: the cache should hold the clients' few hot queries, not big ones."""


class DocumentCache:
    """Least-recently-used parsed documents by (query text, parse options); one per app."""

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._documents: OrderedDict[Hashable, DocumentNode] = OrderedDict()
        self.hits = 0

    def __len__(self) -> int:
        return len(self._documents)

    def get(self, key: Hashable) -> DocumentNode | None:
        found = self._documents.get(key)
        if found is not None:
            self.hits += 1
            self._documents.move_to_end(key)
        return found

    def put(self, key: Hashable, document: DocumentNode) -> None:
        self._documents[key] = document
        self._documents.move_to_end(key)
        while len(self._documents) > self.maxsize:
            self._documents.popitem(last=False)


class CachedParse(SchemaExtension):
    """Reuse the document of an identical query parsed with the same options (the token limit among them).

    Strawberry's ParserCache parses inside its own hook, so a parse error raised there skipped ErrorCodes'
    QUERY_TOO_COMPLEX tagging. Here a miss leaves parsing to Strawberry, with its normal error handling, and only
    a successfully parsed document is stored; documents are never mutated after parsing, so sharing is safe.
    """

    def __init__(self, documents: DocumentCache) -> None:
        self.documents = documents

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        key: Hashable | None = None
        query = context.query
        if context.graphql_document is None and isinstance(query, str) and 0 < len(query) <= MAX_CACHED_QUERY:
            key = (query, tuple(sorted(context.parse_options.items())))
            try:
                cached = self.documents.get(key)
            except TypeError:  # an unhashable parse option: do not cache
                key, cached = None, None
            if cached is not None:
                context.graphql_document = cached
                key = None
        yield
        if key is not None and context.graphql_document is not None and not context.pre_execution_errors:
            self.documents.put(key, context.graphql_document)
