"""`activities export` against a real API server and worker process: start, follow, download, resume."""

from __future__ import annotations

import asyncio
import gzip
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from app.services.runtime import Resources
from app.settings import Settings
from tests.access_helpers import insert_key
from tests.api.timeline_support import T0, Row, create_person, create_type, insert, minutes
from tests.conftest import child_env, eventually, serving
from tests.stores import PROJECT_ROOT

pytestmark = pytest.mark.e2e


async def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "app.cli.main", "export", *args],
        env={**child_env(settings), "COLUMNS": "200"}, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)


async def test_export_command_exports_downloads_and_resumes(
    tmp_path: Path, settings: Settings, resources: Resources, api_server: int,
    worker_process: Callable[[], subprocess.Popen[bytes]],
) -> None:
    type_id = await create_type(resources, "depositCheck")
    other = await create_type(resources, "attendWebinar")
    person = await create_person(resources, "ann@example.com")
    await insert(resources, [Row(person, type_id, T0 + minutes(i), f"b{i}") for i in range(500)]
                 + [Row(person, other, T0, "w")])
    token = await insert_key(resources)
    worker_process()

    await eventually(lambda: serving(api_server), timeout=30, interval=0.1)
    url = f"http://127.0.0.1:{api_server}/graphql"
    out = tmp_path / "out.jsonl.gz"
    result = await _cli(settings, "--type", "depositCheck", "--since", "2020-01-01", "-o", str(out),
                        "--url", url, "--token", token)
    assert result.returncode == 0, result.stdout + result.stderr
    rows = [orjson.loads(line) for line in gzip.decompress(out.read_bytes()).splitlines()]
    assert len(rows) == 500 and {r["activityType"] for r in rows} == {"depositCheck"}
    job_id = result.stdout.split("export ", 1)[1].split()[0]
    whole = out.read_bytes()

    # A broken download left half the file behind: the command asks for the rest only (Range + If-Range).
    again = tmp_path / "again.jsonl.gz"
    sha = result.stdout.rsplit("sha256 ", 1)[1].split()[0]
    (tmp_path / "again.jsonl.gz.part").write_bytes(whole[: len(whole) // 2])
    (tmp_path / "again.jsonl.gz.part.json").write_text(json.dumps({"job": job_id, "etag": f'"{sha}"'}))
    resumed = await _cli(settings, "--job", job_id, "-o", str(again), "--url", url, "--token", token)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert again.read_bytes() == whole and not (tmp_path / "again.jsonl.gz.part").exists()

    # Proof that the part was kept, not re-downloaded: a wrong prefix fails the sha256 check (and is removed).
    broken = tmp_path / "broken.jsonl.gz"
    (tmp_path / "broken.jsonl.gz.part").write_bytes(b"x" * (len(whole) // 2))
    (tmp_path / "broken.jsonl.gz.part.json").write_text(json.dumps({"job": job_id, "etag": f'"{sha}"'}))
    refused = await _cli(settings, "--job", job_id, "-o", str(broken), "--url", url, "--token", token)
    assert refused.returncode == 1 and "does not match" in refused.stdout
    assert not broken.exists() and not (tmp_path / "broken.jsonl.gz.part").exists()
