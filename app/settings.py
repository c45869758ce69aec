"""Service settings, read once from the environment (prefix ACTIVITIES_) and passed in explicitly."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Limits(BaseModel):
    """Tunable limits; every one is readable through the `limits` GraphQL query."""

    max_activity_types: int = 1000
    max_fields_per_type: int = 100
    max_string_length: int = 255
    max_text_length: int = 65_536
    max_inline_activities: int = 1000
    max_upload_bytes: int = 10 * 1024**3
    max_upload_rows: int = 50_000_000
    max_row_bytes: int = 1024 * 1024
    max_page_size: int = 100
    max_persons_per_upsert: int = 1000
    max_query_depth: int = 12
    max_query_tokens: int = 5000
    max_query_aliases: int = 30
    max_query_cost: int = 50_000
    max_request_bytes: int = 64 * 1024**2  # non-multipart request bodies (JSON), checked before parsing
    chunk_rows: int = 5000
    activity_search_timeout_ms: int = 10_000  # `activities` search and totalCount; over it: QUERY_TOO_COMPLEX
    max_running_exports_per_key: int = 4  # unfinished (queued or running) export jobs of one API key
    max_export_bytes_per_key: int = 100 * 1024**3  # bytes of export files one API key keeps stored
    max_smart_list_filters: int = 50  # filters in one smart-list definition
    max_smart_list_conditions: int = 20  # field conditions in one smart-list filter
    max_smart_list_logic_depth: int = 10  # nesting of an advanced smart-list expression
    max_smart_lists: int = 1000  # saved smart lists per deployment
    smart_list_timeout_ms: int = 10_000  # one smart-list count or members page; over it: QUERY_TOO_COMPLEX
    max_event_streams_per_key: int = 10  # open or reserved SSE single-connection streams of one API key, per process
    max_operations_per_event_stream: int = 100  # operations running at once on one SSE stream (as per WebSocket)


class Execution(BaseModel):
    """Switches of the GraphQL fast paths (app/api/execution/); each is independent, all on by default.

    Turning one off changes speed only, never a response: the differential tests compare every combination.
    """

    compiled_plans: bool = True  # answer planned read queries without Strawberry's execution
    fast_executor: bool = True  # complete plain object subtrees in one pass inside Strawberry's execution
    parse_cache: bool = True  # reuse parsed documents of repeated queries
    validation_cache: bool = True  # skip validation of repeated (document, rules) pairs
    input_builders: bool = True  # build input objects from a plan per type, not field by field (input_builders.py)


class Triggers(BaseModel):
    """Webhook delivery: safety rules, timeouts, retries, concurrency and the circuit breaker (docs/triggers.md)."""

    allow_loopback: bool = False  # receivers on 127.0.0.1 / ::1 / localhost, http too (dev, tests; warned in prod)
    delivery_timeout_seconds: float = 10.0  # connect + send + first byte of the answer, per attempt
    retry_base_seconds: float = 1.0  # first pause after a failed attempt; doubles each time, with jitter
    retry_max_delay_seconds: float = 3600.0  # longest pause between attempts (also caps Retry-After)
    max_retry_hours: float = 24.0  # a delivery still failing this long after its first attempt is dead-lettered
    concurrency_per_trigger: int = 4  # deliveries of one trigger in flight at once (all workers together)
    circuit_breaker_failures: int = 50  # failed attempts in a row that pause a trigger (0: never)
    secret_grace_hours: float = 24.0  # after a rotation, the old secret also signs for this long
    max_response_bytes: int = 4096  # of a receiver's answer, kept for the delivery's last error
    poll_seconds: float = 1.0  # the delivery loop looks for work at least this often, notified or not
    # While a bulk ingestion job runs in the same worker process, the delivery loop starts a round at most this often:
    # the import keeps the CPU and webhooks catch up after it (docs/triggers.md). 0: no pause.
    import_round_seconds: float = Field(0.5, ge=0, le=10)


class PersistedDocuments(BaseModel):
    """Apollo automatic persisted queries and trusted documents (app/api/persisted.py)."""

    automatic: bool = True  # APQ: documents registered by hash in Redis
    ttl_seconds: int = 86_400  # how long an APQ document stays without being registered again
    max_document_bytes: int = 100_000  # longer documents run but are not stored
    documents_file: Path | None = None  # allow-list: an Apollo persisted-query manifest or a {sha256: document} map
    trusted_only: bool = False  # refuse every document that is not on the allow-list


class Marketo(BaseModel):
    """The Marketo-compatible REST facade (app/api/rest/, docs/marketo-rest.md)."""

    token_seconds: int = 3600  # lifetime of an access token from /identity/oauth/token
    max_batch: int = 300  # records per POST /rest/v1/activities/external.json (Marketo's own cap)
    http_429: bool = False  # also send HTTP 429 + Retry-After with code 606 (Marketo sends 200)
    # Marketo's bulk extract rules, off unless asked for: a createdAt window of at most this many days (Marketo:
    # 31), and at most this many file bytes exported per key per UTC day (Marketo: 500 MB, 524288000).
    export_window_days: int | None = Field(None, ge=1)
    export_daily_bytes: int | None = Field(None, ge=1)


class Ingestion(BaseModel):
    """How workers share the chunks of an ingestion job (docs/ingestion.md#how-chunks-are-shared)."""

    # Chunk transactions one worker run keeps going at once, each on its own connection: one prepares (CPU)
    # while another waits for PostgreSQL. 1 processes chunk after chunk.
    lanes: int = Field(2, ge=1, le=8)
    # Worker runs (the lead and helpers, in other worker processes when there are) one large job may use.
    # 1 switches helpers off.
    workers_per_job: int = Field(2, ge=1, le=16)
    helper_min_chunks: int = Field(8, ge=1)  # the lead calls helpers once this many chunks wait


class Settings(BaseSettings):
    """Everything configurable; see docs/configuration.md."""

    model_config = SettingsConfigDict(
        env_prefix="ACTIVITIES_",
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    environment: Literal["dev", "test", "prod"] = "dev"
    database_url: str | None = None
    redis_url: str | None = None
    data_dir: Path = Path(".activities-data")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    log_format: Literal["auto", "text", "json"] = "auto"
    redis_prefix: str = "activities"
    db_pool_size: int = 10
    db_max_overflow: int = 10
    citus_shard_count: int = Field(32, ge=1, le=1024)  # shards per distributed table, when migrate distributes
    citus_source: Path | None = None  # directory of Citus' build.sh for `activities citus up` (default: found)
    worker_max_jobs: int = 4
    worker_processes: int = Field(1, ge=1, le=32)  # `activities dev` starts this many; each `worker` is one process
    worker_poll_delay: float = 0.02
    job_timeout_seconds: int = 3600
    reconcile_interval_seconds: int = 10  # how often workers re-enqueue jobs Redis lost or whose worker died
    upload_stall_seconds: int = 300  # a job still receiving its upload with no new chunk this long is failed
    upload_retry_seconds: int = 30  # an upload retries a chunk commit across a database outage this long
    graphiql: bool | None = None  # None: served in dev and test, not in prod
    access_log: bool | None = None  # one line per HTTP request; None: on in prod only
    tracing: Literal["off", "otlp"] = "off"  # OpenTelemetry traces over OTLP/HTTP (OTEL_* variables configure it)
    introspection: bool | None = None  # None: on in dev and test, off in prod (see introspection_enabled)
    header_timeout_seconds: float = 10.0  # `activities serve`: a request's headers must all arrive within this
    auth_disabled: bool = False
    bootstrap_admin_key: SecretStr | None = None
    dev_admin_key: SecretStr | None = None  # set by `activities dev`: GraphiQL sends it for loopback requests
    # Keys sealing secrets at rest (webhook signing secrets): comma-separated URL-safe base64 of 32 bytes each; the
    # first seals, all open (rotation: put the new key first, restart, drop the old one once resealed). Required in
    # prod; elsewhere a key is made in the data dir (app/services/secret_keys.py).
    secret_keys: SecretStr | None = None
    cors_origins: list[str] = Field(default_factory=list)
    websocket_origins: list[str] = Field(default_factory=list)
    rate_limit_per_minute: int = 600
    compiled_queries: bool | None = None  # deprecated alias of execution.compiled_plans (ACTIVITIES_COMPILED_QUERIES)
    execution: Execution = Field(default_factory=Execution)
    persisted: PersistedDocuments = Field(default_factory=PersistedDocuments)
    marketo: Marketo = Field(default_factory=Marketo)
    ingestion_concurrency_per_key: int = 4
    ingestion: Ingestion = Field(default_factory=Ingestion)
    export_dir: Path | None = None  # where export files are written; default <data_dir>/exports
    export_retention_days: float = 7.0  # export files are removed this long after their job finished
    triggers: Triggers = Field(default_factory=Triggers)
    limits: Limits = Field(default_factory=Limits)

    @field_validator("database_url", "redis_url", "bootstrap_admin_key", "dev_admin_key", "secret_keys", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # Compose files and shells pass `VAR=` for "not set"; an empty key or URL is never meant literally.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _check_security(self) -> Settings:
        key = self.bootstrap_admin_key.get_secret_value() if self.bootstrap_admin_key else None
        if key is not None and not (24 <= len(key) <= 256 and key.isascii() and key.isprintable()):
            raise ValueError("ACTIVITIES_BOOTSTRAP_ADMIN_KEY must be 24..256 printable ASCII characters")
        if self.compiled_queries is not None and "compiled_plans" not in self.execution.model_fields_set:
            # The old name still works; ACTIVITIES_EXECUTION__COMPILED_PLANS wins when both are set.
            self.execution = self.execution.model_copy(update={"compiled_plans": self.compiled_queries})
        return self

    @property
    def introspection_enabled(self) -> bool:
        """Introspection, unless switched off; in prod only when switched on (ACTIVITIES_INTROSPECTION=true)."""
        return self.introspection if self.introspection is not None else self.environment != "prod"

    @property
    def field_suggestions(self) -> bool:
        """"Did you mean ...?" in errors: only in dev, and never when introspection is off (they map the schema)."""
        return self.environment == "dev" and self.introspection_enabled

    @property
    def graphiql_enabled(self) -> bool:
        return self.graphiql if self.graphiql is not None else self.environment != "prod"

    @property
    def access_log_enabled(self) -> bool:
        return self.access_log if self.access_log is not None else self.environment == "prod"

    @property
    def log_json(self) -> bool:
        if self.log_format == "auto":
            return self.environment == "prod"
        return self.log_format == "json"

    @property
    def arq_queue_name(self) -> str:
        return f"{self.redis_prefix}:queue"


def to_asyncpg_dsn(url: str) -> str:
    """Strip a SQLAlchemy driver suffix so asyncpg and libpq tools accept the URL."""
    for prefix in ("postgresql+asyncpg://", "postgres+asyncpg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix) :]
    return url


def to_sqlalchemy_url(url: str) -> str:
    """Point a postgres URL at the asyncpg driver for SQLAlchemy."""
    return "postgresql+asyncpg://" + to_asyncpg_dsn(url)[len("postgresql://") :]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment on first use."""
    return Settings()
