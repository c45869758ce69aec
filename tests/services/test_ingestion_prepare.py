"""Chunk preparation: the stepwise form (on the event loop) gives what prepare_chunk gives, and lets others run."""

from __future__ import annotations

import asyncio
import uuid

import orjson

from app.domain.ingestion import RawRow, SourceFormat, encode_chunk
from app.domain.validation import compile_validator
from app.services.ingestion.prepare import JobContext, prepare_chunk, prepare_chunk_stepwise
from app.services.registry import LiveType
from tests.ingestion_support import deposit, deposit_definition

DEFINITION = deposit_definition()
CTX = JobContext(
    id=uuid.uuid4(), format=SourceFormat.JSONL, activity_type=None, header=None, dry_run=False,
    create_missing_persons=False, live=False, known_names={"depositcheck", "draftonly"}, max_row_bytes=1000,
    types={"depositcheck": LiveType(7, "depositCheck", 2, DEFINITION, False, compile_validator(DEFINITION))},
)
ROWS = [
    orjson.dumps(deposit(email="a@x.io", key="1")), orjson.dumps(deposit(email="b@x.io", key=None)),
    b'{"activityType": ', orjson.dumps(deposit(email="a@x.io", key="3", amount="12.345678")),
    orjson.dumps(deposit(email="A@x.io", key="4")), orjson.dumps(deposit(activityType="draftOnly")),
    orjson.dumps(deposit(key="6", person={"id": 5})), orjson.dumps(deposit(email="a@x.io", key="7")),
    orjson.dumps(deposit(key=None, person={"id": 5})),
]
CHUNK = encode_chunk([RawRow(n, data) for n, data in enumerate(ROWS, start=1)] + [RawRow(10, b"", oversize=5000)])


async def test_stepwise_preparation_is_prepare_chunk() -> None:
    whole = prepare_chunk(CTX, CHUNK)
    assert (whole.rows, len(whole.candidates), len(whole.failures)) == (10, 6, 4)
    assert [(p.email, p.id) for p in whole.people] == [  # one per reference
        ("a@x.io", None), ("b@x.io", None), ("A@x.io", None), (None, 5)]
    assert [c[1] for c in whole.candidates] == [0, 1, 2, 3, 0, 3]
    for step in (1, 2, 3, 100):
        assert await prepare_chunk_stepwise(CTX, CHUNK, step_rows=step) == whole


async def test_stepwise_preparation_lets_other_tasks_run() -> None:
    ticks = 0

    async def other() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    ticker = asyncio.create_task(other())
    await asyncio.sleep(0)
    before = ticks
    await prepare_chunk_stepwise(CTX, CHUNK, step_rows=2)
    ticker.cancel()
    assert ticks - before >= 5  # one turn of the other task per step of 2 rows (10 rows)
