"""Fixtures of the end-to-end tests: a real API server process, real workers and private stores."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from app.settings import Settings
from tests.conftest import serve
from tests.e2e.test_ingestion_faults import private_redis, private_stack, start_worker


@pytest.fixture
def api_server(settings: Settings, tmp_path: Path) -> Iterator[int]:
    """`activities serve` on a free port; yields the port (its output in the test's server.log)."""
    yield from serve(settings, tmp_path / "server.log")


__all__ = ["private_redis", "private_stack", "start_worker"]
