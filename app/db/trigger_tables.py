"""Tables of triggers: the triggers, the outbox the activity table feeds, and the deliveries (migrations 0014-15)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlmodel import Field, SQLModel


def _now() -> Any:
    return Column(DateTime(timezone=True), nullable=False, server_default=func.now())


def _instant() -> Any:
    return Column(DateTime(timezone=True), nullable=True)


class WebhookTriggerRow(SQLModel, table=True):
    """A trigger: type, conditions, URL, batching; its signing secret (and the previous one during a rotation)."""

    __tablename__ = "webhook_trigger"
    __table_args__ = (
        Index("uq_webhook_trigger_name", text("lower(name)"), unique=True, postgresql_where=text("deleted_at IS NULL")),
    )

    id: uuid.UUID = Field(sa_column=Column(UUID(as_uuid=True), primary_key=True))
    name: str = Field(sa_column=Column(Text, nullable=False))
    activity_type_id: int = Field(sa_column=Column(Integer, nullable=False))
    conditions: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False))
    url: str = Field(sa_column=Column(Text, nullable=False))
    description: str | None = Field(default=None, sa_column=Column(Text))
    status: str = Field(sa_column=Column(Text, nullable=False))
    batch_max_size: int = Field(sa_column=Column(Integer, nullable=False))
    batch_max_wait_ms: int = Field(sa_column=Column(Integer, nullable=False))
    secret: str = Field(sa_column=Column(Text, nullable=False))
    previous_secret: str | None = Field(default=None, sa_column=Column(Text))
    previous_secret_until: datetime | None = Field(default=None, sa_column=_instant())
    secret_rotated_at: datetime | None = Field(default=None, sa_column=_instant())
    consecutive_failures: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    last_success_at: datetime | None = Field(default=None, sa_column=_instant())
    created_by: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    updated_at: datetime | None = Field(default=None, sa_column=_now())
    deleted_at: datetime | None = Field(default=None, sa_column=_instant())


class TriggerOutboxRow(SQLModel, table=True):
    """The activities one INSERT or COPY into `activity` stored, written by a database trigger in the same
    transaction (so committed activities and their outbox row exist together or not at all)."""

    __tablename__ = "trigger_outbox"

    # One of its activities' persons (migration 0015): the distribution column on Citus, where a statement's
    # rows are captured per shard, so every person of a row belongs to the same shard.
    person_id: int = Field(sa_column=Column(BigInteger, primary_key=True))
    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    activity_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    person_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    occurred_ats: list[datetime] = Field(sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False))
    type_ids: list[int] = Field(sa_column=Column(ARRAY(Integer), nullable=False))
    created_at: datetime | None = Field(default=None, sa_column=_now())


class TriggerDeliveryRow(SQLModel, table=True):
    """One batch for one trigger, sent until delivered or dead-lettered (FAILED); activities by primary key."""

    __tablename__ = "trigger_delivery"
    __table_args__ = (
        Index("ix_trigger_delivery_trigger_id", "trigger_id", "id"),
        Index("ix_trigger_delivery_open", "trigger_id", "id",
              postgresql_where=text("status IN ('PENDING', 'SENDING')")),
    )

    id: int | None = Field(default=None, sa_column=Column(BigInteger, Identity(), primary_key=True))
    trigger_id: uuid.UUID = Field(
        sa_column=Column(UUID(as_uuid=True), ForeignKey("webhook_trigger.id", ondelete="CASCADE"), nullable=False)
    )
    status: str = Field(sa_column=Column(Text, nullable=False))
    activity_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    person_ids: list[int] = Field(sa_column=Column(ARRAY(BigInteger), nullable=False))
    occurred_ats: list[datetime] = Field(sa_column=Column(ARRAY(DateTime(timezone=True)), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False, server_default="0"))
    next_attempt_at: datetime | None = Field(default=None, sa_column=_now())
    lease_until: datetime | None = Field(default=None, sa_column=_instant())
    first_attempt_at: datetime | None = Field(default=None, sa_column=_instant())
    last_status_code: int | None = Field(default=None, sa_column=Column(Integer))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime | None = Field(default=None, sa_column=_now())
    delivered_at: datetime | None = Field(default=None, sa_column=_instant())
