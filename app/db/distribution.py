"""Citus: where each table lives when the `citus` extension is present, applied idempotently after migrations.

On plain PostgreSQL nothing happens. On Citus (see docs/scaling.md):

- `person` (by `id`) and `activity` (by `person_id`) are hash-distributed and co-located: a timeline, its
  person and the person's erasure stay on one shard; ingestion spreads over all of them.
- `person_email` and `person_external_id` are distributed by the identity value (co-located with each other),
  so the primary key keeps each value unique and a lookup reads one shard.
- `trigger_outbox` (by `person_id`, co-located with `activity`): the statement trigger on `activity` fires on
  each shard and writes the shard's activities to the co-located outbox shard, on the same node, in the same
  transaction (migration 0015); it runs only with `citus.enable_unsafe_triggers` at placement, which is sound
  here because the trigger touches nothing but that shard and the reference table `webhook_trigger`.
- the registry (`activity_type`, `activity_type_version`), `api_key` and `webhook_trigger` are small, read by
  every request (the triggers: by the outbox trigger on every shard) and rarely written: reference tables,
  copied to every node.
- everything else stays on the coordinator: the ingestion job, its payload chunks and its rejected rows are
  read and written per job by the worker that holds it (rejected rows have no person to distribute by:
  many are rejected precisely because no person matched), `audit_log` is an admin trail, `alembic_version`
  is Alembic's; `smart_list` holds definitions only (members are computed by queries on `person` and
  `activity`, never joined with it); `export_job` is a job table like `ingestion_job`; `trigger_delivery` is
  read and leased by the delivery loop and references `webhook_trigger`, so Citus keeps it on the coordinator
  as a local table in its metadata (a local table may have a foreign key to a reference table only then).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# (table, distribution column, co-located with): the first of each group starts it.
DISTRIBUTED: tuple[tuple[str, str, str | None], ...] = (
    ("person", "id", None),
    ("activity", "person_id", "person"),
    ("person_email", "email", None),
    ("person_external_id", "external_id", "person_email"),
    ("trigger_outbox", "person_id", "person"),
)
REFERENCE: tuple[str, ...] = ("activity_type", "activity_type_version", "api_key", "webhook_trigger")
# Left on the coordinator on purpose (trigger_delivery enters Citus' metadata with webhook_trigger, see above);
# a new table must join one of the three lists (tests/db/test_distribution_plan.py).
LOCAL: tuple[str, ...] = ("alembic_version", "audit_log", "export_job", "ingestion_chunk", "ingestion_job",
                          "ingestion_rejection", "smart_list", "trigger_delivery")
DEFAULT_SHARD_COUNT = 32


class DistributionError(RuntimeError):
    """The cluster cannot take the schema as it is (no worker, a worker unreachable): nothing was changed."""


@dataclass(frozen=True)
class Placement:
    table: str
    kind: str  # "distributed" (hash), "reference", "local" (coordinator only)
    column: str | None = None


async def citus_present(conn: Any) -> bool:
    """Whether this database has the citus extension (a raw asyncpg connection)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'citus')"))


async def placements(conn: Any) -> list[Placement]:
    """How each table of the schema is placed now (every table is local on plain PostgreSQL)."""
    tables = [r[0] for r in await conn.fetch(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY 1"
    )]
    known: dict[str, Placement] = {}
    if await citus_present(conn):
        for row in await conn.fetch(
            "SELECT logicalrelid::regclass::text AS t, partmethod::text AS partmethod, repmodel::text AS repmodel, "
            "column_to_column_name(logicalrelid, partkey) AS c FROM pg_dist_partition"
        ):
            # partmethod 'n' with repmodel 't' is a reference table; with 's', a local table in Citus' metadata
            kind = ("distributed" if row["partmethod"] == "h"
                    else "reference" if (row["partmethod"], row["repmodel"]) == ("n", "t") else "local")
            known[row["t"]] = Placement(row["t"], kind, row["c"])
    return [known.get(t, Placement(t, "local")) for t in tables]


async def check_cluster(conn: Any) -> None:
    """On a Citus coordinator: raise DistributionError unless it has workers and every one answers."""
    if await citus_present(conn):
        await _check_workers(conn)


async def _check_workers(conn: Any) -> None:
    workers = await conn.fetch(
        "SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' AND isactive"
    )
    if not workers:
        raise DistributionError(
            "citus is installed but the cluster has no worker node: add workers with citus_add_node() "
            "(see docs/scaling.md), then run `activities migrate` again; nothing was changed"
        )
    down = [f"{r['nodename']}:{r['nodeport']}" for r in await conn.fetch(
        "SELECT nodename, nodeport FROM run_command_on_workers('SELECT 1') WHERE NOT success"
    )]
    if down:
        raise DistributionError(
            f"citus worker(s) {', '.join(down)} do not answer: start them (or remove them with "
            "citus_remove_node()), then run `activities migrate` again; nothing was changed"
        )


async def distribute(conn: Any, shard_count: int = DEFAULT_SHARD_COUNT) -> list[str]:
    """Place every table as planned above if it is not placed yet; returns what was done (empty: nothing to do).

    Idempotent: tables already distributed or reference are left alone (their shard count included; change it
    with `alter_distributed_table`). Raises DistributionError when the cluster cannot take it.
    """
    if not await citus_present(conn):
        return []
    placed = {p.table: p for p in await placements(conn)}
    todo_ref = [t for t in REFERENCE if t in placed and placed[t].kind == "local"]
    todo_dist = [d for d in DISTRIBUTED if d[0] in placed and placed[d[0]].kind == "local"]
    if not todo_ref and not todo_dist:
        return []
    await _check_workers(conn)
    done: list[str] = []
    async with conn.transaction():
        # Citus creates shards over parallel connections: a table created in this transaction must be
        # distributed before anything else touches it, so each call stands alone in the transaction.
        await conn.execute(f"SET LOCAL citus.shard_count = {int(shard_count)}")
        # `activity` has the outbox's statement trigger (see the module docstring for why it is safe)
        await conn.execute("SET LOCAL citus.enable_unsafe_triggers = on")
        for table in todo_ref:
            await conn.execute("SELECT create_reference_table($1)", table)
            done.append(f"{table}: reference table")
        for table, column, colocate in todo_dist:
            await conn.execute(
                "SELECT create_distributed_table($1, $2, colocate_with => $3)", table, column, colocate or "default"
            )
            done.append(f"{table}: distributed by {column}" + (f" with {colocate}" if colocate else ""))
    return done


def _on(url: str, database: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{database}" + (f"?{query}" if query else "")


async def _execute(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


async def _ensure_database(admin_url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def join_database(
    coordinator_admin_url: str,
    name: str,
    host: str,
    coordinator_port: int,
    worker_ports: list[int],
    moved: dict[int, int] | None = None,
) -> None:
    """Make database `name` one Citus cluster (idempotent): it exists with the extension on the coordinator and
    every worker, and the coordinator's metadata lists them; `moved` maps old worker ports to new ones."""
    import asyncpg

    for port in worker_ports:
        worker = f"postgresql://postgres@{host}:{port}/postgres"
        await _ensure_database(worker, name)
        await _execute(_on(worker, name), "CREATE EXTENSION IF NOT EXISTS citus")
    await _ensure_database(coordinator_admin_url, name)
    conn = await asyncpg.connect(_on(coordinator_admin_url, name))
    try:
        await conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        await conn.execute("SELECT citus_set_coordinator_host($1, $2)", host, coordinator_port)
        for old, new in (moved or {}).items():
            await conn.execute(
                "SELECT citus_update_node(nodeid, $1, $2) FROM pg_dist_node WHERE nodeport = $3 AND groupid <> 0",
                host, new, old,
            )
        for port in worker_ports:
            if not await conn.fetchval("SELECT 1 FROM pg_dist_node WHERE nodename = $1 AND nodeport = $2", host, port):
                await conn.execute("SELECT citus_add_node($1, $2)", host, port)
    finally:
        await conn.close()


async def _topology(admin_url: str) -> tuple[str, int, list[int]] | None:
    """(host, coordinator port, worker ports) of the cluster the admin database belongs to, or None."""
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        if not await citus_present(conn):
            return None
        rows = await conn.fetch("SELECT nodename, nodeport, groupid FROM pg_dist_node ORDER BY groupid")
    finally:
        await conn.close()
    coordinator = [r for r in rows if r["groupid"] == 0]
    workers = [r for r in rows if r["groupid"] != 0]
    if not coordinator or not workers:
        return None
    return coordinator[0]["nodename"], coordinator[0]["nodeport"], [r["nodeport"] for r in workers]


async def create_database(admin_url: str, name: str) -> bool:
    """Create database `name` on the server of `admin_url`; if that server is a Citus coordinator with workers
    (its admin database has them), on the workers too, joined into the same cluster. True on Citus."""
    topology = await _topology(admin_url)
    await _execute(admin_url, f'CREATE DATABASE "{name}"')
    if topology is None:
        return False
    host, coordinator_port, workers = topology
    await join_database(admin_url, name, host, coordinator_port, workers)
    return True


async def drop_database(admin_url: str, name: str) -> None:
    """Drop database `name` from the server of `admin_url` and, on Citus, from its workers."""
    import asyncpg

    topology = await _topology(admin_url)
    if topology is not None:  # a node that went away mid-commit leaves prepared transactions behind: end them
        try:
            await _execute(_on(admin_url, name), "SELECT recover_prepared_transactions()")
        except (OSError, asyncpg.PostgresError):
            pass  # the database is gone already, or a worker is still down: its leftovers are rolled back below
    await _execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if topology is not None:
        host, _, workers = topology
        for port in workers:
            worker = f"postgresql://postgres@{host}:{port}/postgres"
            conn = await asyncpg.connect(worker)
            try:
                for (gid,) in await conn.fetch("SELECT gid FROM pg_prepared_xacts WHERE database = $1", name):
                    await conn.execute(f"ROLLBACK PREPARED '{gid}'")
            finally:
                await conn.close()
            await _execute(worker, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
