"""RFC 4180 record ends for PostgreSQL's CSV output: COPY ends each record with LF, a CSV file with CRLF."""

from __future__ import annotations


class CrlfRecords:
    """Rewrites the LF ending each record of a CSV stream as CRLF, chunk by chunk, wherever chunks split it.

    An LF inside a quoted field is data and stays as it is (the reader gives it back unchanged). PostgreSQL quotes
    every field holding a CR or LF, so outside quotes an LF always ends a record. Counts the records ended.
    """

    def __init__(self) -> None:
        self.quoted = False  # the stream so far ends inside a quoted field
        self.records = 0

    def convert(self, data: bytes) -> bytes:
        if not self.quoted and b'"' not in data:
            self.records += data.count(b"\n")
            return data.replace(b"\n", b"\r\n")
        # Split at quotes, the parts alternate outside/inside a quoted field (an escaped quote "" is an empty
        # part inside, which switches out and back in).
        parts = data.split(b'"')
        for i in range(1 if self.quoted else 0, len(parts), 2):
            if b"\n" in parts[i]:
                self.records += parts[i].count(b"\n")
                parts[i] = parts[i].replace(b"\n", b"\r\n")
        if len(parts) % 2 == 0:  # an odd number of quotes
            self.quoted = not self.quoted
        return b'"'.join(parts)
