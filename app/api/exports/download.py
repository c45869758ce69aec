"""GET /exports/{id}/file: the export's file with the caller's API key; ETag = sha256, single Range requests.

401 no or bad key, 403 a key without `read` or another key's export, 404 no such export, 409 not finished
(or failed/cancelled), 410 file expired/deleted/erased, 416 a Range past the end. A file is served only once
its job SUCCEEDED, and only whole or as the exact bytes asked for: never a partial file as complete.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from app.api.auth import Denial
from app.domain.access import Scope
from app.domain.errors import ErrorCode
from app.domain.exports import ExportJob, ExportStatus
from app.services.exports import jobs
from app.services.exports.store import file_store
from app.services.runtime import Resources

if TYPE_CHECKING:
    from app.api.view import GraphQLView

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(first, last) byte of a single `Range: bytes=...` within `size`; None = send the whole file (no header,
    several ranges, or a form we do not serve); False = not satisfiable (416)."""
    if header is None:
        return None
    found = _RANGE.match(header.strip())
    if found is None:
        return None  # several ranges or another unit: RFC 9110 lets a server ignore Range
    first, last = found.group(1), found.group(2)
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            return False
        return max(0, size - suffix), size - 1
    start = int(first)
    if start >= size:
        return False
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None  # an invalid range is ignored
    return start, end


def _error(status: int, code: ErrorCode, message: str, headers: dict[str, str] | None = None) -> Response:
    body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code.value}}]})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class ExportDownload:
    """The endpoint; authenticates exactly as /graphql does (the same key, rate limit and local-dev rule)."""

    def __init__(self, view: GraphQLView) -> None:
        self.view = view

    async def respond(self, request: Request) -> Response:
        resources = self.view.resources
        principal = await self.view.authenticator.resolve(resources, request, request.headers.get("authorization"))
        if isinstance(principal, Denial):
            return principal.response()
        if not principal.allows(Scope.READ):
            return _error(403, ErrorCode.FORBIDDEN, "This API key lacks the 'read' scope.")
        try:
            job_id = uuid.UUID(request.path_params["id"])
        except ValueError:
            return _error(404, ErrorCode.NOT_FOUND, jobs.NOT_FOUND)
        job = await jobs.fetch_any(resources, job_id)
        if job is None:
            return _error(404, ErrorCode.NOT_FOUND, jobs.NOT_FOUND)
        if not jobs.visible(principal, job):
            return _error(403, ErrorCode.FORBIDDEN, "This export belongs to another API key.")
        served = await file_response(resources, job, request)
        if isinstance(served, Refusal):
            return _error(served.status, served.code, served.message, served.headers)
        return served


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a job's file is not served: HTTP status, our code, a message (each caller words its own envelope)."""

    status: int
    code: ErrorCode
    message: str
    headers: dict[str, str] | None = None


async def file_response(resources: Resources, job: ExportJob, request: Request) -> Response | Refusal:
    """The file of a job the caller may see, whole or the single Range asked for (also Marketo's file.json)."""
    if job.file_gone is not None:
        return Refusal(410, ErrorCode.NOT_FOUND, f"The file is gone ({job.file_gone.value}).")
    if job.status is not ExportStatus.SUCCEEDED:
        return Refusal(409, ErrorCode.INVALID_STATE, f"The export is {job.status.value}; a file exists only once "
                       "it SUCCEEDED.")
    store = file_store(resources.settings)
    key = jobs.part_key(job.id)
    size = await store.size(key)
    if size is None or size != job.bytes:
        return Refusal(410, ErrorCode.NOT_FOUND, "The file is gone.")
    etag = f'"{job.sha256}"'
    headers = {
        "etag": etag, "accept-ranges": "bytes",
        "content-disposition": f'attachment; filename="{job.filename}"',
    }
    wanted = parse_range(request.headers.get("range"), size)
    if_range = request.headers.get("if-range")
    if if_range is not None and if_range.strip() != etag:
        wanted = None  # the file changed since the client's first part: send it whole
    if wanted is False:
        return Refusal(416, ErrorCode.OUT_OF_RANGE, f"The file has {size} bytes.", {"content-range": f"bytes */{size}"})
    first, last, status = 0, size - 1, 200
    if isinstance(wanted, tuple):
        first, last, status = wanted[0], wanted[1], 206
        headers["content-range"] = f"bytes {first}-{last}/{size}"
    headers["content-length"] = str(last - first + 1)
    body = store.read(key, first, last)
    return StreamingResponse(body, status_code=status, media_type=job.content_type, headers=headers)
