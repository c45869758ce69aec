"""Signing secrets at rest: sealed per trigger (app/domain/sealing.py), opened to sign, resealed under the first key."""

from __future__ import annotations

import logging

from app.domain.sealing import SealError, SecretBox
from app.services.runtime import Resources

logger = logging.getLogger(__name__)

STORED = "SELECT id, secret, previous_secret FROM webhook_trigger ORDER BY id"
# Compare-and-set: a rotation racing the reseal keeps its new secret (the next reseal seals it if it must).
RESEAL = (
    "UPDATE webhook_trigger SET secret = $4, previous_secret = $5 WHERE id = $1 AND secret = $2 "
    "AND previous_secret IS NOT DISTINCT FROM $3 RETURNING 1"
)


def signing_secrets(box: SecretBox, trigger_id: object, secret: str, previous: str | None) -> list[str]:
    """The secrets a delivery is signed with: the current one, and the previous one during its grace period."""
    context = str(trigger_id)
    return [box.open(secret, context)] + ([box.open(previous, context)] if previous else [])


async def reseal(resources: Resources) -> int:
    """Seal with the first key every stored secret that is not: rows from before sealing (plain text) and rows
    sealed with an older key (after a key rotation). Deleted triggers too: their secrets are still secrets.
    Returns how many triggers changed; a secret no configured key opens is reported (by trigger id) and left."""
    box = resources.secret_box
    changed = 0
    async with resources.db.raw() as conn:
        for row in await conn.fetch(STORED):
            secret, previous = row["secret"], row["previous_secret"]
            if box.is_current(secret) and (previous is None or box.is_current(previous)):
                continue
            context = str(row["id"])
            try:
                sealed = box.seal(box.open(secret, context), context)
                sealed_previous = None if previous is None else box.seal(box.open(previous, context), context)
            except SealError as error:
                logger.error("cannot reseal the signing secret of trigger %s: %s", row["id"], error)
                continue
            if await conn.fetchval(RESEAL, row["id"], secret, previous, sealed, sealed_previous):
                changed += 1
    if changed:
        logger.info("sealed the signing secrets of %d triggers with the first secret key", changed)
    return changed
