"""What admins read about triggers, each in a session of its own: one trigger, a page, deliveries, stats."""

from __future__ import annotations

import uuid

from app.domain.triggers import Delivery, DeliveryStats, DeliveryStatus, Trigger
from app.services.runtime import Resources
from app.services.triggers import store


async def get(resources: Resources, trigger_id: uuid.UUID) -> Trigger | None:
    async with resources.db.session() as session:
        return await store.get(session, trigger_id)


async def delivery(resources: Resources, delivery_id: int) -> Delivery | None:
    async with resources.db.session() as session:
        return await store.delivery(session, delivery_id)


async def page(resources: Resources, first: int, after: uuid.UUID | None) -> tuple[list[Trigger], bool]:
    async with resources.db.session() as session:
        return await store.page(session, first, after)


async def deliveries(
    resources: Resources, trigger_id: uuid.UUID, first: int, before: int | None, status: DeliveryStatus | None
) -> tuple[list[Delivery], bool]:
    async with resources.db.session() as session:
        return await store.deliveries(session, trigger_id, first, before, status)


async def stats(resources: Resources, trigger_id: uuid.UUID) -> DeliveryStats:
    async with resources.db.session() as session:
        return await store.stats(session, trigger_id)
