"""System queries: limits and service information."""

from __future__ import annotations

from typing import Any

import strawberry

from app import __version__
from app.api.context import Info
from app.settings import Settings


@strawberry.type(description="The limits this deployment enforces; exceeding one gives a typed error.")
class Limits:
    max_activity_types: int = strawberry.field(description="Custom activity types that may exist at once.")
    max_fields_per_type: int = strawberry.field(description="Additional fields per activity type.")
    max_string_length: int = strawberry.field(description="Default maximum length of STRING values.")
    max_text_length: int = strawberry.field(description="Maximum length of TEXT values.")
    max_inline_activities: int = strawberry.field(description="Activities per `recordActivities` call.")
    max_upload_bytes: float = strawberry.field(description="Largest file `importActivities` accepts, in bytes.")
    max_upload_rows: float = strawberry.field(description="Most rows one import may contain.")
    max_row_bytes: int = strawberry.field(description="Longest single row (JSONL line or CSV record), in bytes.")
    max_page_size: int = strawberry.field(description="Largest `first`/`last` on any connection.")
    max_persons_per_upsert: int = strawberry.field(description="Persons per `upsertPersons` call.")
    max_query_depth: int = strawberry.field(description="Deepest selection a query may have.")
    max_query_tokens: int = strawberry.field(description="Most tokens in one query document.")
    max_query_aliases: int = strawberry.field(description="Most aliases in one query document.")
    max_query_cost: int = strawberry.field(description="Highest estimated cost of one query.")
    max_request_bytes: float = strawberry.field(
        description="Largest non-upload request body (JSON), in bytes; checked before parsing."
    )
    chunk_rows: int = strawberry.field(description="Rows per stored ingestion chunk (one transaction each).")
    activity_search_timeout_ms: int = strawberry.field(
        description="Time budget of one `activities` search (and its totalCount), in milliseconds; 0 means none."
    )
    max_running_exports_per_key: int = strawberry.field(
        description="Unfinished (queued or running) export jobs one API key may have at once."
    )
    max_export_bytes_per_key: float = strawberry.field(
        description="Bytes of export files one API key may keep stored (delete or let expire to free them)."
    )
    max_smart_list_filters: int = strawberry.field(description="Filters in one smart-list definition.")
    max_smart_list_conditions: int = strawberry.field(description="Field conditions in one smart-list filter.")
    max_smart_list_logic_depth: int = strawberry.field(
        description="How deep an advanced smart-list expression may nest (`not`, parentheses, and/or levels)."
    )
    max_smart_lists: int = strawberry.field(description="Saved smart lists this deployment may hold.")
    smart_list_timeout_ms: int = strawberry.field(
        description="Time budget of one smart-list count or members page, in milliseconds; 0 means none."
    )
    max_event_streams_per_key: int = strawberry.field(
        description="Event streams (GraphQL over SSE, single connection mode) one API key may hold in one API process."
    )
    max_operations_per_event_stream: int = strawberry.field(
        description="Operations running at once on one event stream."
    )
    rate_limit_per_minute: int = strawberry.field(
        description="Requests (WebSocket operations included) one API key may make per minute; 0 means no limit."
    )
    ingestion_concurrency_per_key: int = strawberry.field(
        description="Unfinished ingestion jobs one API key may have at once."
    )

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        """Every field comes from `settings.limits`, except the per-key ones that are top-level settings."""
        limits = settings.limits
        values: dict[str, Any] = {name: getattr(limits, name, None) for name in cls.__annotations__}
        values["rate_limit_per_minute"] = settings.rate_limit_per_minute
        values["ingestion_concurrency_per_key"] = settings.ingestion_concurrency_per_key
        return cls(**values)


@strawberry.type
class SystemQueries:
    @strawberry.field(description="The limits this deployment enforces.")
    def limits(self, info: Info) -> Limits:
        return Limits.from_settings(info.context.settings)

    @strawberry.field(description="Version of the running service.")
    def version(self) -> str:
        return __version__
