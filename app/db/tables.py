"""SQLModel tables. Rows never leave db/services; GraphQL builds its types from domain objects."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def _now() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


class ActivityTypeRow(SQLModel, table=True):
    """An activity type; its live definition is a row in activity_type_version, its draft is JSON here."""

    __tablename__ = "activity_type"
    __table_args__ = (
        Index("uq_activity_type_api_name", text("lower(api_name)"), unique=True),
        Index("uq_activity_type_name", text("lower(name)"), unique=True, postgresql_where=text("deleted_at IS NULL")),
        Index(
            "uq_activity_type_trigger_name",
            text("lower(trigger_name)"),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
        Index(
            "uq_activity_type_filter_name",
            text("lower(filter_name)"),
            unique=True,
            postgresql_where=text("deleted_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, Identity(), primary_key=True))
    api_name: str = Field(sa_column=Column(Text, nullable=False))
    name: str = Field(sa_column=Column(Text, nullable=False))
    trigger_name: str = Field(sa_column=Column(Text, nullable=False))
    filter_name: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    is_system: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    current_version: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    draft: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())
    deleted_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    # Bumped by a trigger on every UPDATE (migration 0016): the snapshot cache's version stamp.
    row_version: int = Field(default=1, sa_column=Column(BigInteger, nullable=False, server_default="1"))


class ActivityTypeVersionRow(SQLModel, table=True):
    """An immutable approved version of an activity type (full definition as JSON)."""

    __tablename__ = "activity_type_version"
    __table_args__ = (PrimaryKeyConstraint("activity_type_id", "version"),)

    activity_type_id: int = Field(
        sa_column=Column(Integer, ForeignKey("activity_type.id", ondelete="CASCADE"), nullable=False)
    )
    version: int = Field(sa_column=Column(Integer, nullable=False))
    definition: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    approved_at: datetime | None = Field(default=None, sa_column=_now())
    approved_by: str | None = Field(default=None, sa_column=Column(Text))


class PersonRow(SQLModel, table=True):
    """A person whose timeline we keep; email and external id are unique through the identity tables below."""

    __tablename__ = "person"

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    email: str | None = Field(default=None, sa_column=Column(Text))
    external_id: str | None = Field(default=None, sa_column=Column(Text))
    first_name: str | None = Field(default=None, sa_column=Column(Text))
    last_name: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())


class PersonEmailRow(SQLModel, table=True):
    """A person's email, lower-cased: unique here, one row (one Citus shard) per lookup (0013)."""

    __tablename__ = "person_email"

    email: str = Field(sa_column=Column(Text, primary_key=True))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class PersonExternalIdRow(SQLModel, table=True):
    """A person's external id: unique here, one row (one Citus shard) per lookup (0013)."""

    __tablename__ = "person_external_id"

    external_id: str = Field(sa_column=Column(Text, primary_key=True))
    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))


class ActivityRow(SQLModel, table=True):
    """One activity. Keys all include person_id (Citus shard key) and the PK includes occurred_at."""

    __tablename__ = "activity"
    __table_args__ = (
        PrimaryKeyConstraint("person_id", "occurred_at", "id"),
        Index(
            "uq_activity_idempotency",
            "person_id",
            "activity_type_id",
            "idempotency_key",
            unique=True,
            postgresql_where=text("idempotency_key IS NOT NULL"),
        ),
        Index("ix_activity_type_occurred", "activity_type_id", text("occurred_at DESC"), text("id DESC")),
        Index("ix_activity_person_ingested", "person_id", "ingested_at", "id"),
        Index("ix_activity_ingested_brin", "ingested_at", postgresql_using="brin"),  # 0003: cross-person sync
    )

    person_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    occurred_at: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), nullable=False))
    activity_type_id: int = Field(sa_column=Column(Integer, nullable=False))
    type_version: int = Field(sa_column=Column(Integer, nullable=False))
    primary_value: Any = Field(default=None, sa_column=Column(JSONB, nullable=True))
    fields: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text))
    payload_hash: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    job_id: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
    ingested_at: datetime | None = Field(
        default=None, sa_column=Column(DateTime(timezone=True), nullable=False, server_default=func.now())
    )


class IngestionJobRow(SQLModel, table=True):
    """A durable ingestion job: Postgres is the source of truth, Redis only carries its id."""

    __tablename__ = "ingestion_job"
    __table_args__ = (
        Index("uq_ingestion_job_creator_key", "created_by", "idempotency_key", unique=True),  # 0006: per principal
        Index("ix_ingestion_job_status_created", "status", "created_at"),
        Index("ix_ingestion_job_created", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_ingestion_job_active_by_creator",
            "created_by",
            postgresql_where=text("status IN ('QUEUED', 'RUNNING')"),
        ),
    )

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    idempotency_key: str | None = Field(default=None, sa_column=Column(Text))
    source: str = Field(sa_column=Column(Text, nullable=False))
    format: str = Field(sa_column=Column(Text, nullable=False))
    activity_type: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(sa_column=Column(Text, nullable=False))
    dry_run: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    create_missing_persons: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    replay_of: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
    filename: str | None = Field(default=None, sa_column=Column(Text))
    header: list[str] | None = Field(default=None, sa_column=Column(ARRAY(Text)))
    total_bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    total_rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    chunk_count: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    # Chunks processed so far (workers may finish them in any order; each chunk row is deleted when done).
    next_chunk: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    processed_rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    accepted_rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    rejected_rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    duplicate_rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    cancel_requested: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default="false")
    )
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_by: str | None = Field(default=None, sa_column=Column(Text))
    payload_sha256: str | None = Field(default=None, sa_column=Column(Text))  # 0006: job key reuse check
    # 0007: an upload whose chunks are still being committed (the worker may already process them)
    receiving: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    error_code: str | None = Field(default=None, sa_column=Column(Text))  # 0007: typed reason of FAILED
    # 0009: the last row number an upload committed (resumeFrom = it + 1), and the resumeFrom it was sent with
    received_through: int | None = Field(default=None, sa_column=Column(BigInteger))
    resume_from: int | None = Field(default=None, sa_column=Column(BigInteger))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class IngestionChunkRow(SQLModel, table=True):
    """A slice of a job's raw payload (JSONL lines, CSV rows or inline JSON), kept until processed."""

    __tablename__ = "ingestion_chunk"
    __table_args__ = (PrimaryKeyConstraint("job_id", "seq"),)

    job_id: uuid.UUID = Field(
        sa_column=Column(UUID(as_uuid=True), ForeignKey("ingestion_job.id", ondelete="CASCADE"), nullable=False)
    )
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    first_row: int = Field(sa_column=Column(BigInteger, nullable=False))
    row_count: int = Field(sa_column=Column(Integer, nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))  # STORAGE EXTERNAL (0004): not compressed


class IngestionRejectionRow(SQLModel, table=True):
    """A rejected row with every issue and the original record, kept for replay."""

    __tablename__ = "ingestion_rejection"
    __table_args__ = (PrimaryKeyConstraint("job_id", "row_number"),)

    job_id: uuid.UUID = Field(
        sa_column=Column(UUID(as_uuid=True), ForeignKey("ingestion_job.id", ondelete="CASCADE"), nullable=False)
    )
    row_number: int = Field(sa_column=Column(BigInteger, nullable=False))
    code: str = Field(sa_column=Column(Text, nullable=False))
    field: str | None = Field(default=None, sa_column=Column(Text))
    message: str = Field(sa_column=Column(Text, nullable=False))
    issues: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    record: str = Field(sa_column=Column(Text, nullable=False))
    replayed_by: uuid.UUID | None = Field(default=None, sa_column=Column(UUID(as_uuid=True)))
    created_at: datetime | None = Field(default=None, sa_column=_now())


class ApiKeyRow(SQLModel, table=True):
    """An API key: only a SHA-256 of the secret is stored."""

    __tablename__ = "api_key"
    __table_args__ = (Index("uq_api_key_secret_hash", "secret_hash", unique=True),)

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    prefix: str = Field(sa_column=Column(Text, nullable=False))
    secret_hash: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    scopes: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    last_used_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


class SmartListRow(SQLModel, table=True):
    """A saved smart list (0011): its definition as the client wrote it, checked again at each evaluation."""

    __tablename__ = "smart_list"
    __table_args__ = (Index("uq_smart_list_name", text("lower(name)"), unique=True),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    definition: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())


class AuditLogRow(SQLModel, table=True):
    """Who did what to which object, when: admin actions only."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_at", "at"),)

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    at: datetime | None = Field(default=None, sa_column=_now())
    actor: str = Field(sa_column=Column(Text, nullable=False))
    action: str = Field(sa_column=Column(Text, nullable=False))
    target: str | None = Field(default=None, sa_column=Column(Text))
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False))


class ExportJobRow(SQLModel, table=True):
    """A bulk export (0012): its filter and format, progress, and the file it produced in the file store."""

    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_creator_created", "created_by", text("created_at DESC"), text("id DESC")),
        Index("ix_export_job_created", text("created_at DESC"), text("id DESC")),
        Index("ix_export_job_unfinished", "status", postgresql_where=text("status IN ('QUEUED', 'RUNNING')")),
    )

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    kind: str = Field(sa_column=Column(Text, nullable=False))
    status: str = Field(sa_column=Column(Text, nullable=False))
    format: str = Field(sa_column=Column(Text, nullable=False))
    compression: str = Field(sa_column=Column(Text, nullable=False))
    columns: list[str] = Field(sa_column=Column(ARRAY(Text), nullable=False))
    search: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB))
    created_by: str = Field(sa_column=Column(Text, nullable=False))
    rows: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    total_rows: int | None = Field(default=None, sa_column=Column(BigInteger))
    bytes: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    sha256: str | None = Field(default=None, sa_column=Column(Text))
    file_key: str | None = Field(default=None, sa_column=Column(Text))
    file_gone: str | None = Field(default=None, sa_column=Column(Text))  # EXPIRED | DELETED | ERASED
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    cancel_requested: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    restart_requested: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())
    started_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    snapshot_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    finished_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))
    expires_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True)))


from app.db import trigger_tables  # noqa: E402,F401  (registers the trigger tables on the same metadata)
