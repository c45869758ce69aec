"""`activities import FILE`: upload through the GraphQL multipart API, follow the job live, summarise."""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import IO, Any

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn, TransferSpeedColumn
from rich.table import Table

from app.cli.output import console
from app.settings import Settings

JOB_FIELDS = """id status dryRun error resumeFrom progress counts { total processed accepted rejected duplicates }
  timings { durationSeconds rowsPerSecond }"""
IMPORT = f"""mutation($input: ImportActivitiesInput!) {{
  importActivities(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }} }}"""
JOB = f"query($id: ID!) {{ ingestionJob(id: $id) {{ {JOB_FIELDS} }} }}"
REJECTIONS = """query($id: ID!) { ingestionJob(id: $id) { rejections(first: 10) {
  totalCount edges { node { rowNumber code field message } } } } }"""
TERMINAL = {"SUCCEEDED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELLED"}
POLL_SECONDS = 0.5


class _Counting:
    """A file wrapper that advances the upload bar as httpx streams it (never reads the whole file)."""

    def __init__(self, handle: IO[bytes], progress: Progress, task: Any) -> None:
        self._handle, self._progress, self._task = handle, progress, task

    def read(self, size: int = -1) -> bytes:
        data = self._handle.read(size if size and size > 0 else 1024 * 1024)
        self._progress.advance(self._task, len(data))
        return data


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("import", help="import a JSONL or CSV file (optionally .gz) through the API")
    parser.add_argument("file", type=Path, help="the file to upload")
    parser.add_argument("--type", dest="activity_type", help="activity type of every row")
    parser.add_argument("--format", choices=["JSONL", "CSV"], type=str.upper, help="default: from the file name")
    parser.add_argument("--dry-run", action="store_true", help="validate only; write nothing")
    parser.add_argument("--create-missing-persons", action="store_true", help="create unknown persons")
    parser.add_argument("--idempotency-key", help="re-running with the same key returns the same job")
    parser.add_argument("--resume-from", type=int, metavar="ROW",
                        help="take only rows from this row number on: the resumeFrom an interrupted upload printed")
    parser.add_argument("--url", default=None, help="GraphQL endpoint (default: this deployment's /graphql)")
    parser.add_argument("--token", default=os.environ.get("ACTIVITIES_TOKEN"),
                        help="API key (default: $ACTIVITIES_TOKEN)")
    parser.add_argument("--no-wait", action="store_true", help="print the job id and exit after the upload")
    parser.set_defaults(handler=cmd_import)


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    if not args.file.is_file():
        console.print(f"[red]no such file: {args.file}[/red]")
        return 2
    url = args.url or f"http://{settings.host}:{settings.port}/graphql"
    headers = {"apollo-require-preflight": "true"}
    if args.token:
        headers["authorization"] = f"Bearer {args.token}"
    try:
        return _import(url, headers, args)
    except httpx.TransportError as error:
        # One line, no traceback: the usual cause is a server that is not running at that address.
        console.print(f"[red]cannot reach {url}:[/red] {error or type(error).__name__} (is the API running? "
                      "see --url)", soft_wrap=True)
        return 4


def _import(url: str, headers: dict[str, str], args: argparse.Namespace) -> int:
    with httpx.Client(headers=headers, timeout=httpx.Timeout(60, read=600)) as http:
        job = _upload(http, url, args)
        if job is None:
            return 1
        console.print(f"job [bold]{job['id']}[/bold] {job['status']}")
        if args.no_wait:
            _resume_hint(job, args)
            return 1 if job.get("resumeFrom") else 0
        job = _follow(http, url, job)
        _summary(http, url, job)
        _resume_hint(job, args)
    return {"SUCCEEDED": 0, "COMPLETED_WITH_ERRORS": 3}.get(job["status"], 1)


def _upload(http: httpx.Client, url: str, args: argparse.Namespace) -> dict[str, Any] | None:
    variables: dict[str, Any] = {"file": None, "dryRun": args.dry_run,
                                 "createMissingPersons": args.create_missing_persons}
    for key, value in (("activityType", args.activity_type), ("format", args.format),
                       ("idempotencyKey", args.idempotency_key), ("resumeFrom", args.resume_from)):
        if value not in (None, ""):
            variables[key] = value
    operations = {"query": IMPORT, "variables": {"input": variables}}
    size = args.file.stat().st_size
    columns = (TextColumn("uploading"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress, args.file.open("rb") as handle:
        task = progress.add_task("upload", total=size)
        response = http.post(url, data={"operations": json.dumps(operations),
                                        "map": json.dumps({"0": ["variables.input.file"]})},
                             files={"0": (args.file.name, _Counting(handle, progress, task),  # type: ignore[dict-item]
                                          "application/octet-stream")})
    body = _json(response)
    if body is None:
        return None
    payload = (body.get("data") or {}).get("importActivities")
    if payload is None:
        console.print(f"[red]request failed:[/red] {body.get('errors')}")
        return None
    for error in payload["errors"]:
        console.print(f"[red]{error['code']}[/red] {error.get('field') or ''} {error['message']}")
    job: dict[str, Any] | None = payload["job"]
    return job


def _resume_hint(job: dict[str, Any], args: argparse.Namespace) -> None:
    """An interrupted upload: the command that imports the rest of the file, no row twice."""
    if job.get("resumeFrom"):
        console.print(f"[yellow]the upload was interrupted;[/yellow] import the rest with: activities import "
                      f"{args.file} --resume-from {job['resumeFrom']} (and the same options)")


def _json(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        console.print(f"[red]HTTP {response.status_code}[/red] {response.text[:500]}")
        return None
    return body


def _follow(http: httpx.Client, url: str, job: dict[str, Any]) -> dict[str, Any]:
    """Poll the job (cheap: one small query every half second) and draw rows, rows/s, accepted, rejected."""
    columns = (
        TextColumn("[bold]{task.fields[status]}[/bold]"), BarColumn(), TaskProgressColumn(),
        TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"), TextColumn("{task.fields[speed]} rows/s"),
        TextColumn("[green]{task.fields[accepted]:,} accepted[/green]"),
        TextColumn("[red]{task.fields[rejected]:,} rejected[/red]"),
        TextColumn("{task.fields[duplicates]:,} duplicates"),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("job", total=max(1, job["counts"]["total"]), status=job["status"], speed="-",
                                 accepted=0, rejected=0, duplicates=0)
        while True:
            counts, timings = job["counts"], job["timings"]
            speed = timings.get("rowsPerSecond")
            progress.update(task, completed=counts["processed"], status=job["status"],
                            speed=f"{speed:,.0f}" if speed else "-", accepted=int(counts["accepted"]),
                            rejected=int(counts["rejected"]), duplicates=int(counts["duplicates"]))
            if job["status"] in TERMINAL:
                return job
            time.sleep(POLL_SECONDS)
            body = _json(http.post(url, json={"query": JOB, "variables": {"id": job["id"]}}))
            if body and (body.get("data") or {}).get("ingestionJob"):
                job = body["data"]["ingestionJob"]


def _summary(http: httpx.Client, url: str, job: dict[str, Any]) -> None:
    counts = job["counts"]
    table = Table(title=f"job {job['id']}: {job['status']}" + (" (dry run)" if job["dryRun"] else ""))
    for name in ("total", "accepted", "rejected", "duplicates"):
        table.add_column(name, justify="right")
    table.add_row(*(f"{int(counts[n]):,}" for n in ("total", "accepted", "rejected", "duplicates")))
    console.print(table)
    if job.get("error"):
        console.print(f"[red]error:[/red] {job['error']}")
    if not counts["rejected"]:
        return
    body = _json(http.post(url, json={"query": REJECTIONS, "variables": {"id": job["id"]}})) or {}
    rejections = ((body.get("data") or {}).get("ingestionJob") or {}).get("rejections") or {"edges": []}
    shown = Table(title="first rejections")
    for name in ("row", "code", "field", "message"):
        shown.add_column(name)
    for edge in rejections["edges"]:
        node = edge["node"]
        shown.add_row(str(int(node["rowNumber"])), node["code"], node.get("field") or "", node["message"])
    console.print(shown)
    console.print("All rejections (with the original records), page by page (variables: {\"cursor\": null}, then "
                  "each endCursor):\n  " + rejections_query(job["id"]), soft_wrap=True)
    console.print(f'After fixing the activity type: mutation {{ replayRejections(jobId: "{job["id"]}") '
                  "{ job { id status } errors { code field message } } }", soft_wrap=True)


def rejections_query(job_id: str) -> str:
    """The document printed for paging through a job's rejections: valid as printed (a test checks it)."""
    return (f'query Rejections($cursor: String) {{ ingestionJob(id: "{job_id}") {{ rejections(first: 100, '
            "after: $cursor) { pageInfo { hasNextPage endCursor } edges { node { rowNumber code field message "
            "issues { code field message } record } } } } }")
