"""`activities export -o FILE`: start an export through the API, follow it live, download it (resuming), verify."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
from rich.progress import BarColumn, DownloadColumn, Progress, TaskProgressColumn, TextColumn, TransferSpeedColumn

from app.cli.import_cmd import json_body
from app.cli.output import console
from app.settings import Settings

JOB_FIELDS = "id status rows totalRows progress bytes sha256 error downloadUrl"
EXPORT = {
    "activities": f"""mutation($input: ExportActivitiesInput!) {{
  exportActivities(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }} }}""",
    "persons": f"""mutation($input: ExportPersonsInput!) {{
  exportPersons(input: $input) {{ job {{ {JOB_FIELDS} }} errors {{ code field message }} }} }}""",
}
JOB = f"query($id: ID!) {{ exportJob(id: $id) {{ {JOB_FIELDS} }} }}"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELLED"}
POLL_SECONDS = 0.5
DOWNLOAD_TRIES = 5
CHUNK = 1024 * 1024


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("export", help="export activities (or persons) to a JSONL/CSV file (.gz) through the API")
    parser.add_argument("-o", "--output", type=Path, required=True,
                        help="file to write; .csv/.jsonl picks the format, .gz compresses")
    parser.add_argument("--persons", action="store_true", help="export persons instead of activities")
    parser.add_argument("--type", dest="types", action="append", help="activity type (repeat for several)")
    parser.add_argument("--since", help="occurred at or after (ISO date or date-time; dates are UTC midnight)")
    parser.add_argument("--until", help="occurred before (ISO date or date-time)")
    parser.add_argument("--ingested-since", help="stored at or after (incremental exports)")
    parser.add_argument("--person-email", action="append", help="only this person (repeat for several)")
    parser.add_argument("--columns", help="comma-separated columns, in order (default: all)")
    parser.add_argument("--format", choices=["JSONL", "CSV"], type=str.upper, help="default: from the file name")
    parser.add_argument("--job", help="download (or resume downloading) this existing export instead")
    parser.add_argument("--url", default=None, help="GraphQL endpoint (default: this deployment's /graphql)")
    parser.add_argument("--token", default=os.environ.get("ACTIVITIES_TOKEN"),
                        help="API key (default: $ACTIVITIES_TOKEN)")
    parser.set_defaults(handler=cmd_export)


def _instant(value: str | None) -> str | None:
    if value is None:
        return None
    return value + "T00:00:00Z" if len(value) == 10 else value


def _input(args: argparse.Namespace) -> dict[str, Any]:
    name = args.output.name.lower()
    fmt = args.format or ("CSV" if name.removesuffix(".gz").endswith(".csv") else "JSONL")
    flt: dict[str, Any] = {}
    for key, value in (("activityTypes", args.types), ("occurredAfter", _instant(args.since)),
                       ("occurredBefore", _instant(args.until)), ("ingestedAfter", _instant(args.ingested_since)),
                       ("personEmails", args.person_email)):
        if value:
            flt[key] = value
    result: dict[str, Any] = {"format": fmt, "compression": "GZIP" if name.endswith(".gz") else "NONE"}
    if flt:
        result["filter"] = flt
    if args.columns:
        result["columns"] = [c.strip() for c in args.columns.split(",") if c.strip()]
    return result


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    url = args.url or f"http://{settings.host}:{settings.port}/graphql"
    headers = {"authorization": f"Bearer {args.token}"} if args.token else {}
    with httpx.Client(headers=headers, timeout=httpx.Timeout(60, read=600)) as http:
        job = _job(http, url, args.job) if args.job else _start(http, url, args)
        if job is None:
            return 1
        console.print(f"export [bold]{job['id']}[/bold] {job['status']}")
        job = _follow(http, url, job)
        if job["status"] != "SUCCEEDED":
            console.print(f"[red]export {job['status']}[/red] {job.get('error') or ''}")
            return 1
        if not job.get("downloadUrl"):
            console.print("[red]the file is gone (expired, deleted or erased)[/red]")
            return 1
        return 0 if download(http, urljoin(url, job["downloadUrl"]), job, args.output) else 1


def _start(http: httpx.Client, url: str, args: argparse.Namespace) -> dict[str, Any] | None:
    kind = "persons" if args.persons else "activities"
    body = json_body(http.post(url, json={"query": EXPORT[kind], "variables": {"input": _input(args)}})) or {}
    payload = (body.get("data") or {}).get("exportPersons" if args.persons else "exportActivities")
    if payload is None:
        console.print(f"[red]request failed:[/red] {body.get('errors')}")
        return None
    for error in payload["errors"]:
        console.print(f"[red]{error['code']}[/red] {error.get('field') or ''} {error['message']}")
    job: dict[str, Any] | None = payload["job"]
    return job


def _job(http: httpx.Client, url: str, job_id: str) -> dict[str, Any] | None:
    body = json_body(http.post(url, json={"query": JOB, "variables": {"id": job_id}})) or {}
    job: dict[str, Any] | None = (body.get("data") or {}).get("exportJob")
    if job is None:
        console.print(f"[red]no export {job_id} for this key[/red] {body.get('errors') or ''}")
    return job


def _follow(http: httpx.Client, url: str, job: dict[str, Any]) -> dict[str, Any]:
    """Poll the job and draw rows written of the snapshot's rows."""
    columns = (TextColumn("[bold]{task.fields[status]}[/bold]"), BarColumn(), TaskProgressColumn(),
               TextColumn("{task.completed:,.0f}/{task.total:,.0f} rows"))
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("export", total=1, status=job["status"])
        while True:
            progress.update(task, completed=job["rows"], total=max(1, job.get("totalRows") or job["rows"] or 1),
                            status=job["status"])
            if job["status"] in TERMINAL:
                return job
            time.sleep(POLL_SECONDS)
            job = _job(http, url, job["id"]) or job


def download(http: httpx.Client, file_url: str, job: dict[str, Any], output: Path) -> bool:
    """Fetch the file into `<output>.part`, resuming with Range (If-Range: the job's ETag) after a broken
    connection or a previous run; renamed to `output` once its SHA-256 is the job's."""
    part = output.with_name(output.name + ".part")
    meta = output.with_name(output.name + ".part.json")
    etag = f'"{job["sha256"]}"'
    if part.exists() and (not meta.exists() or json.loads(meta.read_text()).get("etag") != etag):
        part.unlink()  # a part of another export (or of an unknown one): start over
    meta.write_text(json.dumps({"job": job["id"], "etag": etag}))
    total = int(job["bytes"])
    columns = (TextColumn("downloading"), BarColumn(), DownloadColumn(), TransferSpeedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("download", total=total)
        for attempt in range(DOWNLOAD_TRIES):
            have = part.stat().st_size if part.exists() else 0
            progress.update(task, completed=have)
            if have >= total:
                break
            try:
                _fetch(http, file_url, part, have, etag, lambda n: progress.advance(task, n))
            except httpx.HTTPError as error:
                console.print(f"[yellow]download interrupted ({error}); resuming[/yellow]")
                time.sleep(min(5, 2**attempt) / 4)
            except RuntimeError as error:
                console.print(f"[red]{error}[/red]")
                return False
    digest = hashlib.sha256()
    with part.open("rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    if digest.hexdigest() != job["sha256"]:
        console.print("[red]the downloaded file does not match the export's sha256; run again to start over[/red]")
        part.unlink()
        return False
    part.replace(output)
    meta.unlink(missing_ok=True)
    console.print(f"wrote [bold]{output}[/bold]: {int(job['rows']):,} rows, {total:,} bytes, sha256 {job['sha256']}")
    return True


def _fetch(http: httpx.Client, url: str, part: Path, have: int, etag: str, advance: Any) -> None:
    headers = {"range": f"bytes={have}-", "if-range": etag} if have else {}
    with http.stream("GET", url, headers=headers) as response:
        if response.status_code not in (200, 206):
            response.read()
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:300]}")
        mode = "ab" if response.status_code == 206 else "wb"  # 200: the server sent the whole file
        if mode == "wb":
            advance(-have)
        with part.open(mode) as handle:
            for block in response.iter_bytes(CHUNK):
                handle.write(block)
                advance(len(block))
