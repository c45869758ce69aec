"""Finishing the commits a worker node missed (app/db/two_phase.py, app/services/ingestion/settle.py), on the
local Citus cluster."""

from __future__ import annotations

import uuid

import pytest

from app.db.two_phase import NodesUnreachable, recover_commits
from app.services.ingestion.settle import settle_commits
from app.services.runtime import Resources
from app.services.transient import is_transient
from app.settings import Settings
from tests.citus.conftest import node_stopped

pytestmark = pytest.mark.usefixtures("on_citus")


async def test_recovery_reaches_every_node_when_all_are_up(resources: Resources) -> None:
    async with resources.db.raw() as conn:
        assert await recover_commits(conn) >= 0
        await settle_commits(conn, uuid.uuid4(), timeout=0)


async def test_an_unreachable_node_is_reported_not_passed_over(resources: Resources, settings: Settings) -> None:
    async with node_stopped(settings, resources, "worker2") as port:
        async with resources.db.raw() as conn:
            # The first attempt may instead lose the session's cached connection to the node: also transient.
            with pytest.raises(NodesUnreachable):
                await settle_commits(conn, uuid.uuid4(), timeout=1.0, first_delay=0.2)
            with pytest.raises(NodesUnreachable, match=f"cannot connect to .*:{port}") as raised:
                await recover_commits(conn)
            assert is_transient(raised.value)  # the job retries, its rows still pending, never SUCCEEDED early
    async with resources.db.raw() as conn:  # back: recovery reaches it again
        await settle_commits(conn, uuid.uuid4(), timeout=30)
        assert await recover_commits(conn) >= 0
