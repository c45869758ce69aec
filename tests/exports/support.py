"""Helpers for export tests: GraphQL documents, running an export to its end, reading its file."""

from __future__ import annotations

import gzip
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from tests.conftest import GraphQL

JOB_FIELDS = (
    # `id` read as the raw id: file names, download paths and SQL use it (GraphQL arguments take either form)
    "id: rowId globalId: id kind status format compression columns rows totalRows progress bytes sha256 attempts "
    "error createdAt finishedAt expiresAt fileGone downloadUrl"
)
EXPORT_ACTIVITIES = f"""
mutation($input: ExportActivitiesInput!) {{
  exportActivities(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }}
}}"""
EXPORT_PERSONS = f"""
mutation($input: ExportPersonsInput!) {{
  exportPersons(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }}
}}"""
EXPORT_JOB = f"query($id: ID!) {{ exportJob(id: $id) {{ {JOB_FIELDS} }} }}"


async def start(gql: GraphQL, input: dict[str, Any], document: str = EXPORT_ACTIVITIES) -> dict[str, Any]:
    body = await gql(document, {"input": input})
    assert "errors" not in body, body
    payload = next(iter(body["data"].values()))
    assert payload["errors"] == [], payload["errors"]
    job: dict[str, Any] = payload["job"]
    return job


async def finished(gql: GraphQL, run_worker: Callable[[], Awaitable[int]], job_id: str) -> dict[str, Any]:
    await run_worker()
    body = await gql(EXPORT_JOB, {"id": job_id})
    job: dict[str, Any] = body["data"]["exportJob"]
    return job


async def export(
    gql: GraphQL, run_worker: Callable[[], Awaitable[int]], input: dict[str, Any], document: str = EXPORT_ACTIVITIES
) -> dict[str, Any]:
    job = await start(gql, input, document)
    done = await finished(gql, run_worker, job["id"])
    assert done["status"] == "SUCCEEDED", done
    return done


async def download(client: httpx.AsyncClient, job: dict[str, Any]) -> bytes:
    response = await client.get(job["downloadUrl"])
    assert response.status_code == 200, response.text
    data = response.content
    return gzip.decompress(data) if job["compression"] == "GZIP" else data
