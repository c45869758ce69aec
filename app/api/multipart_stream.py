"""GraphQL multipart requests read as they arrive: the file part reaches the resolver as a stream, never spooled.

The GraphQL multipart request spec sends `operations` and `map` before the files, so both are read (each at
most FIELD_LIMIT bytes) up to the headers of the file part; the operation then runs while the file is still
arriving, and every `read()` of the upload pulls the next pieces of the request body through the parser.
Memory holds at most one read block plus one piece of the body; nothing goes to disk. One file per request
(the schema has one Upload argument): a `map` naming more is refused.
"""

from __future__ import annotations

from typing import Any

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from app.api.request_guard import BodyTooLarge
from app.domain.errors import DomainError, ErrorCode

FIELD_LIMIT = 1024 * 1024  # `operations` or `map`: Starlette's form parser allows the same per part
MAX_PARTS_BEFORE_FILE = 16


class MultipartError(ValueError):
    """Not a GraphQL multipart request that can be streamed: answered with HTTP 400."""


class StreamedFile:
    """The request's file part: `read(size)` returns the next bytes as they arrive, b"" at the part's end. The
    client going away mid-file raises ConnectionResetError (an interrupted upload), a body over the request
    limit PAYLOAD_TOO_LARGE (a DomainError)."""

    def __init__(self, body: MultipartBody, filename: str | None, content_type: str | None) -> None:
        self._body = body
        self.filename = filename
        self.content_type = content_type

    async def read(self, size: int = -1) -> bytes:
        return await self._body.read_file(size)


class MultipartBody:
    """A push parser over the request's body stream, pulled one piece at a time by `fields` and the file."""

    def __init__(self, request: Request) -> None:
        _, params = parse_options_header(request.headers.get("content-type"))
        boundary = params.get(b"boundary")
        if not boundary:
            raise MultipartError("Missing boundary in multipart.")
        self._stream = request.stream().__aiter__()
        self._parser = MultipartParser(boundary, {
            "on_part_begin": self._part_begin, "on_part_data": self._part_data, "on_part_end": self._part_end,
            "on_header_field": self._header_field, "on_header_value": self._header_value,
            "on_header_end": self._header_end, "on_headers_finished": self._headers_finished,
        })
        self.fields: dict[str, bytes] = {}
        self.file: StreamedFile | None = None
        self.file_name: str | None = None  # the file part's form name (a key of `map`)
        self._parts = 0
        self._ended = False  # the body has been read to its end
        self._file_data = bytearray()
        self._file_done = False
        self._in_file = False
        self._skipping = False  # a part after the file: not ours to keep
        self._name = self._value = self._disposition = b""
        self._content_type: str | None = None
        self._field_name: str | None = None
        self._field = bytearray()

    async def read_fields(self) -> None:
        """Read up to the file part's headers (or to the end of a request without a file)."""
        while self.file is None and await self._pull():
            pass

    async def read_file(self, size: int) -> bytes:
        """Up to `size` bytes of the file (all that is buffered if `size` < 0) as soon as any have arrived, like a
        socket read; b"" once the part has ended."""
        while not self._file_data and not self._file_done:
            if not await self._pull() and not self._file_done:
                # The body ended inside the file: a cut request, not a shorter file.
                raise ConnectionResetError("the request body ended inside the file part")
        end = len(self._file_data) if size < 0 else size
        data = bytes(self._file_data[:end])
        del self._file_data[:end]
        return data

    async def _pull(self) -> bool:
        if self._ended:
            return False
        try:
            piece = await self._stream.__anext__()
        except StopAsyncIteration:
            self._ended = True
            return False
        except ClientDisconnect as exc:
            raise ConnectionResetError("the client disconnected during the upload") from exc
        except BodyTooLarge as exc:
            raise DomainError.of(ErrorCode.PAYLOAD_TOO_LARGE, "The request body is larger than the upload limit "
                                 "(maxUploadBytes plus room for the other parts).", "file") from exc
        try:
            self._parser.write(piece)
        except FormParserError as exc:
            raise MultipartError("Invalid multipart data.") from exc
        return True

    def _part_begin(self) -> None:
        self._parts += 1
        self._disposition, self._content_type, self._field_name, self._field = b"", None, None, bytearray()
        if self.file is None and self._parts > MAX_PARTS_BEFORE_FILE:
            raise MultipartError(f"At most {MAX_PARTS_BEFORE_FILE} parts before the file.")

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        name = self._name.lower()
        if name == b"content-disposition":
            self._disposition = self._value
        elif name == b"content-type":
            self._content_type = self._value.decode("latin-1")
        self._name = self._value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name")
        if name is None:
            raise MultipartError('The Content-Disposition header field "name" must be provided.')
        self._skipping = self.file is not None
        if b"filename" in options and self.file is None:
            self.file_name = name.decode("utf-8", "replace")
            self.file = StreamedFile(self, options[b"filename"].decode("utf-8", "replace"), self._content_type)
            self._in_file = True
        elif not self._skipping:
            self._field_name = name.decode("utf-8", "replace")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self._file_data += data[start:end]
        elif not self._skipping:
            if len(self._field) + end - start > FIELD_LIMIT:
                raise MultipartError(f"A multipart field is larger than {FIELD_LIMIT} bytes.")
            self._field += data[start:end]

    def _part_end(self) -> None:
        if self._in_file:
            self._in_file, self._file_done = False, True
        elif self._field_name is not None:
            self.fields[self._field_name] = bytes(self._field)


def files_map(raw: Any) -> dict[str, list[str]]:
    """`map` checked: at most one file, each mapped to a list of variable paths."""
    if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, list) and
                                            all(isinstance(p, str) for p in v) for k, v in raw.items()):
        raise MultipartError("`map` must be an object of file names to lists of paths.")
    if len(raw) > 1:
        raise MultipartError("At most one file per request.")
    return raw
