"""Signing secrets at rest: sealed with the first key, opened by any, bound to their trigger, resealed after a key
rotation and from plain rows of before sealing; keys from settings (required in prod) or the data dir; never logged."""

from __future__ import annotations

import logging
import stat
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from app.domain.sealing import SealError, SecretBox, new_key, parse_key
from app.domain.webhook_signing import verify
from app.services.runtime import Resources
from app.services.secret_keys import KEY_FILE, MissingSecretKey, load_box
from app.services.triggers import admin
from app.services.triggers.secrets import reseal
from app.settings import Settings
from tests.ingestion_support import approved_type
from tests.triggers.support import ADMIN, delivery_loop, insert_activities, make_trigger, settled
from tests.webhook_receiver import Receiver


def keyed(resources: Resources, *keys: str) -> Resources:
    """The same stores with ACTIVITIES_SECRET_KEYS set to `keys` (first seals)."""
    settings = resources.settings.model_copy(update={"secret_keys": SecretStr(",".join(keys))})
    return Resources(settings=settings, db=resources.db, queue=resources.queue)


async def stored(resources: Resources) -> tuple[str, str | None]:
    async with resources.db.raw() as conn:
        row = await conn.fetchrow("SELECT secret, previous_secret FROM webhook_trigger")
    return row["secret"], row["previous_secret"]


def test_the_first_key_seals_every_key_opens_and_a_value_is_bound_to_its_row() -> None:
    old, new = parse_key(new_key()), parse_key(new_key())
    sealed = SecretBox([old]).seal("whsec_abc", "row-1")
    assert "whsec_abc" not in sealed and sealed.startswith("sealed:v1:")
    assert SecretBox([new, old]).open(sealed, "row-1") == "whsec_abc"
    assert not SecretBox([new, old]).is_current(sealed) and SecretBox([old]).is_current(sealed)
    with pytest.raises(SealError, match="not among the configured keys"):
        SecretBox([new]).open(sealed, "row-1")
    with pytest.raises(SealError, match="does not open"):
        SecretBox([old]).open(sealed, "row-2")
    assert SecretBox([old]).open("whsec_plain", "row-1") == "whsec_plain"  # stored before sealing
    assert SecretBox([old]).seal("whsec_abc", "row-1") != sealed  # a fresh nonce each time
    assert "whsec" not in repr(SecretBox([old])) and str(old) not in repr(SecretBox([old]))


def test_keys_come_from_settings_in_prod_and_from_the_data_dir_elsewhere(tmp_path: Path) -> None:
    with pytest.raises(MissingSecretKey, match="ACTIVITIES_SECRET_KEYS is required in prod"):
        load_box(Settings(environment="prod", data_dir=tmp_path, _env_file=None))  # type: ignore[call-arg]
    with pytest.raises(MissingSecretKey, match="32 bytes") as bad:
        load_box(Settings(environment="prod", secret_keys="c2hvcnQ=", _env_file=None))  # type: ignore[call-arg]
    assert "c2hvcnQ" not in str(bad.value)
    key = new_key()
    sealed = load_box(Settings(environment="prod", secret_keys=f"{key}, {new_key()}",  # type: ignore[call-arg]
                               _env_file=None)).seal("whsec_x", "r")
    assert SecretBox([parse_key(key)]).is_current(sealed)
    dev = Settings(environment="dev", data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    first = load_box(dev).seal("whsec_x", "r")
    assert load_box(dev).open(first, "r") == "whsec_x"  # the same key on the next start
    assert stat.S_IMODE((tmp_path / "data" / KEY_FILE).stat().st_mode) == 0o600
    assert [p.name for p in (tmp_path / "data").iterdir()] == [KEY_FILE]


async def test_stored_secrets_are_sealed_and_deliveries_still_verify(resources: Resources) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as receiver:
        trigger, secret = await make_trigger(resources, receiver.url)
        sealed, _ = await stored(resources)
        assert secret not in sealed and secret.removeprefix("whsec_") not in sealed
        _, new_secret = await admin.rotate_secret(resources, ADMIN, trigger.id)
        current, previous = await stored(resources)
        assert previous == sealed and new_secret not in current
        async with delivery_loop(resources):
            await insert_activities(resources, type_id, [1])
            await settled(resources)
    (request,) = receiver.received
    assert len(request.headers["webhook-signature"].split(" ")) == 2  # both secrets during the grace period
    for key in (secret, new_secret):
        assert verify(key, request.headers, request.body, now=int(time.time())).startswith("msg_")


async def test_a_key_rotation_and_rows_from_before_sealing_are_resealed(resources: Resources) -> None:
    type_id = await approved_type(resources)
    old, new = new_key(), new_key()
    async with Receiver() as receiver:
        _, secret = await make_trigger(keyed(resources, old), receiver.url)
        _, plain = await make_trigger(keyed(resources, old), receiver.url, name="plain")
        async with resources.db.raw() as conn:  # as migration 0014 left rows: the secret in plain text
            await conn.execute("UPDATE webhook_trigger SET secret = $1 WHERE name = 'plain'", plain)
        rotated = keyed(resources, new, old)
        assert await reseal(rotated) == 2
        async with resources.db.raw() as conn:
            values = [r[0] for r in await conn.fetch("SELECT secret FROM webhook_trigger")]
        assert all(SecretBox([parse_key(new)]).is_current(v) for v in values)
        assert await reseal(rotated) == 0  # nothing left to do
        async with delivery_loop(keyed(resources, new)):  # the old key is gone now
            await insert_activities(resources, type_id, [1])
            await settled(resources)
    assert len(receiver.received) == 2
    by_trigger = {r.json["trigger"]["name"]: r for r in receiver.received}
    for name, key in (("deposits", secret), ("plain", plain)):
        request = by_trigger[name]
        assert verify(key, request.headers, request.body, now=int(time.time())).startswith("msg_")


async def test_a_secret_no_key_opens_is_reported_by_trigger_id_and_not_sent(
    resources: Resources, caplog: pytest.LogCaptureFixture
) -> None:
    type_id = await approved_type(resources)
    async with Receiver() as receiver:
        trigger, _ = await make_trigger(keyed(resources, new_key()), receiver.url)
        with caplog.at_level(logging.ERROR):
            assert await reseal(keyed(resources, new_key())) == 0
            async with delivery_loop(keyed(resources, new_key())):
                await insert_activities(resources, type_id, [1])
                await pending_with_error(resources)
    assert receiver.received == []
    assert any(str(trigger.id) in r.getMessage() for r in caplog.records)


async def pending_with_error(resources: Resources) -> None:
    from tests.conftest import eventually

    async def failed_once() -> bool:
        async with resources.db.raw() as conn:
            error = await conn.fetchval("SELECT last_error FROM trigger_delivery WHERE attempts > 0")
        return error is not None and "signing secret" in error

    await eventually(failed_once)


async def test_secrets_and_keys_are_never_logged(resources: Resources, caplog: pytest.LogCaptureFixture) -> None:
    type_id = await approved_type(resources)
    old, new = new_key(), new_key()
    with caplog.at_level(logging.DEBUG):
        async with Receiver() as receiver:
            trigger, secret = await make_trigger(keyed(resources, old), receiver.url)
            _, rotated = await admin.rotate_secret(keyed(resources, old), ADMIN, trigger.id)
            await reseal(keyed(resources, new, old))
            async with delivery_loop(keyed(resources, new, old)):
                await insert_activities(resources, type_id, [1])
                await settled(resources)
    text = "\n".join(r.getMessage() + str(r.args) for r in caplog.records)
    assert "sealed the signing secrets of 1 triggers" in text  # the log was captured
    for value in (secret, rotated, old, new, secret.removeprefix("whsec_"), rotated.removeprefix("whsec_")):
        assert value not in text
    async with resources.db.raw() as conn:
        details = " ".join(str(r[0]) for r in await conn.fetch("SELECT details FROM audit_log"))
    assert secret not in details and rotated not in details
