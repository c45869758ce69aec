"""A minimal keep-alive HTTP/1.1 client for the load generator.

Why not httpx here: measured on the 2-core bench machine, httpx spent ~2.5 ms of CPU per 25 kB timeline
response, more than the baseline server itself, so the load generator took a whole core and capped the
baseline at ~380 req/s. This client sends pre-encoded requests and only frames responses (~0.1 ms each),
leaving the CPU to the servers being compared. Everything else in the benchmark uses httpx.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(RuntimeError):
    """The server closed the connection or sent a response this client cannot frame."""


def encode_post(url: str, path: str, body: bytes, headers: dict[str, str]) -> bytes:
    host = urlsplit(url).netloc
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class Connection:
    """One persistent connection; `request()` sends raw bytes and returns (status, body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, url: str) -> Connection:
        parts = urlsplit(url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80, limit=2**22)
        return cls(reader, writer)

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        self.writer.write(raw)
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as exc:
            raise HttpError("connection closed before the response") from exc
        status_line, _, header_block = head.partition(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        length: int | None = None
        chunked = False
        for line in header_block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        if chunked:
            return status, await self._chunked()
        if length is None:
            raise HttpError("response without Content-Length or chunked encoding")
        return status, await self.reader.readexactly(length)

    async def _chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self.reader.readuntil(b"\r\n")
                return b"".join(parts)
            parts.append(await self.reader.readexactly(size))
            await self.reader.readexactly(2)

    async def close(self) -> None:
        self.writer.close()
        try:
            await self.writer.wait_closed()
        except (ConnectionError, OSError):
            pass
