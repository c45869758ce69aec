"""On Citus, a chunk's transaction prepares every worker node it writes before the coordinator commits, also
after reading the chunk's persons (app/db/two_phase.py, enlist_nodes), watched through citus.log_remote_commands."""

from __future__ import annotations

import uuid

import asyncpg
import orjson
import pytest

from app.domain.ingestion import RawRow, SourceFormat, encode_chunk
from app.services.ingestion.chunk_work import ChunkTally, write_chunk
from app.services.ingestion.prepare import JobContext, prepare_chunk_stepwise
from app.services.registry import cached_live_types
from app.services.runtime import Resources
from tests.ingestion_support import approved_type, deposit

pytestmark = pytest.mark.usefixtures("on_citus")


async def _chunk_commit(resources: Resources, conn: asyncpg.Connection, emails: list[str], tag: str) -> list[
        tuple[str, str]]:
    """Write one chunk naming `emails` in a transaction; the remote commands Citus issued (message, detail)."""
    types, names = await cached_live_types(resources, conn)
    ctx = JobContext(id=uuid.uuid4(), format=SourceFormat.JSONL, activity_type=None, header=None, dry_run=False,
                     create_missing_persons=True, live=False, types=types, known_names=names, max_row_bytes=10_000,
                     distributed=True)
    rows = [RawRow(n, orjson.dumps(deposit(email=e, key=f"{tag}{n}"))) for n, e in enumerate(emails, start=1)]
    prepared = await prepare_chunk_stepwise(ctx, encode_chunk(rows))
    issued: list[tuple[str, str]] = []

    def listen(_conn: object, message: asyncpg.PostgresLogMessage) -> None:
        if message.message.startswith("issuing "):
            issued.append((message.message, message.detail or ""))

    await conn.execute("SET citus.log_remote_commands = on")
    conn.add_log_listener(listen)
    try:
        tally = ChunkTally()
        async with conn.transaction():
            await write_chunk(conn, ctx, prepared, tally)
        assert tally.accepted == len(emails)
    finally:
        conn.remove_log_listener(listen)
        await conn.execute("RESET citus.log_remote_commands")
    return issued


def _connections(issued: list[tuple[str, str]], command: str) -> set[str]:
    """The connections ("on server user@host:port connectionId: n") a command starting with `command` went to."""
    return {detail for message, detail in issued if message.startswith(command)}


async def test_a_chunk_of_known_persons_prepares_every_node_it_writes(resources: Resources) -> None:
    await approved_type(resources)
    emails = [f"p{i}@x.io" for i in range(24)]  # 24 persons: shards on both worker nodes
    conn: asyncpg.Connection
    async with resources.db.raw() as conn:
        await _chunk_commit(resources, conn, emails, "first-")  # creates the persons
        # Now the chunk only reads its persons (co-located with activity) before the COPY: the case Citus left
        # to a plain COMMIT after its own, where a node lost at that moment dropped its rows.
        issued = await _chunk_commit(resources, conn, emails, "second-")
    copied = _connections(issued, "issuing COPY public.activity_")
    assert len({c.split(" connectionId")[0] for c in copied}) == 2, issued  # both worker nodes written
    assert copied <= _connections(issued, "issuing PREPARE TRANSACTION"), issued
