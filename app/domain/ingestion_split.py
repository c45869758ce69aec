"""Split a byte stream into records (JSONL lines or CSV records) without ever holding more than one row.

A UTF-8 BOM at the start of the stream is dropped. `\\r\\n` and `\\n` both end a record. In CSV a newline
inside a quoted field belongs to the record; fields are read as RFC 4180 and the csv module read them (a quote
opens a quoted field only at the start of a field, `5" screen` is text; inside one, `""` is a quote and a
single quote closes it). Blank records are skipped but still counted, so row numbers are line (JSONL) or
record (CSV, header = 1) numbers of the file as uploaded. A record longer than `max_row_bytes` is not
buffered: its first `keep_prefix` bytes and its size are kept, the rest is skipped, and it is rejected later
with ROW_TOO_LARGE while the rest of the file goes in. It ends at the first line end after it passed the
limit, even inside quotes, so an unclosed quote costs at most one row limit of the file, not the rest of it.
"""

from __future__ import annotations

from app.domain.ingestion import RawRow

BOM = b"\xef\xbb\xbf"
_COMMA = ord(",")


def quoted_at_end(line: bytes, quoted: bool) -> bool:
    """Whether a complete CSV line (without its newline) ends inside a quoted field, given whether it starts
    inside one (else it starts a record). Only the quotes are visited."""
    find = line.find
    pos = 0
    while True:
        q = find(b'"', pos)
        if q < 0:
            return quoted
        if quoted:
            if line[q + 1 : q + 2] == b'"':  # an escaped quote
                pos = q + 2
                continue
            quoted = False  # the closing quote
        elif q == 0 or line[q - 1] == _COMMA:
            quoted = True  # a quote at the start of a field opens it; anywhere else it is text
        pos = q + 1


class RecordSplitter:
    """Incremental splitter: `feed(block)` and `finish()` return the complete rows found so far."""

    def __init__(self, *, csv: bool, max_row_bytes: int, keep_prefix: int = 1024) -> None:
        self.csv = csv
        self.max_row_bytes = max_row_bytes
        self.keep_prefix = keep_prefix
        self.records = 0  # records ended so far, blank ones included
        self._parts: list[bytes] = []
        self._size = 0
        self._line_at = 0  # index in _parts where the current line of a CSV record starts
        self._quoted = False  # the CSV record's last complete line ended inside a quoted field
        self._oversize_prefix: bytes | None = None
        self._head = b""  # bytes held back until we know whether the stream starts with a BOM
        self._started = False

    def feed(self, data: bytes) -> list[RawRow]:
        if not self._started:
            self._head += data
            if len(self._head) < len(BOM) and BOM.startswith(self._head):
                return []
            data, self._head, self._started = self._head, b"", True
            if data.startswith(BOM):
                data = data[len(BOM) :]
        out: list[RawRow] = []
        pos = 0
        bulk = not self.csv  # JSONL: the lines after any carried-over record are split in C (`_whole_lines`)
        find = data.find
        while True:
            if bulk and not (self._parts or self._size):
                bulk = False
                pos = self._whole_lines(data, pos, out)
            nl = find(b"\n", pos)
            if nl < 0:
                if pos < len(data):
                    self._append(data[pos:] if pos else data)
                return out
            if not (self._parts or self._size) and nl - pos <= self.max_row_bytes:
                # Fast path (nothing carried over, fits, a whole record): the same as _append + _end_record.
                line = data[pos:nl]
                if not (self.csv and quoted_at_end(line, False)):
                    self.records += 1
                    pos = nl + 1
                    if line.endswith(b"\r"):
                        line = line[:-1]
                    if line.strip():
                        out.append(RawRow(self.records, line))
                    continue
            self._append(data[pos:nl])
            pos = nl + 1
            if self.csv and self._newline_in_quotes():
                continue
            row = self._end_record()
            if row is not None:
                out.append(row)

    def _whole_lines(self, data: bytes, pos: int, out: list[RawRow]) -> int:
        """JSONL with nothing carried over: the complete lines from `pos` split in C and added to `out`, when
        none is too long (else the loop in `feed` takes them one by one). Returns where the rest starts."""
        end = data.rfind(b"\n", pos)
        if end < 0:
            return pos
        lines = data[pos:end].split(b"\n")
        if max(map(len, lines)) > self.max_row_bytes:  # counted with its '\r', as `_append` counts it
            return pos
        first = self.records + 1
        self.records += len(lines)
        # isspace() is the blank test strip() makes, without copying the line; it is False for b"".
        out += [RawRow(n, line[:-1] if line.endswith(b"\r") else line)
                for n, line in enumerate(lines, first) if line and not line.isspace()]
        return end + 1

    def finish(self) -> list[RawRow]:
        """Flush the last record (a file need not end with a newline)."""
        out = self.feed(b"") if not self._started else []
        if self._head:
            self._started = True
            self._append(self._head)
            self._head = b""
        if self._size or self._parts:
            row = self._end_record()
            if row is not None:
                out.append(row)
        return out

    def _newline_in_quotes(self) -> bool:
        """Whether the CSV line just read ended inside a quoted field (then its newline is added to the
        record). Never for a record past the limit: it ends at this line end, whatever its quotes say."""
        if self._oversize_prefix is not None:
            return False
        self._quoted = quoted_at_end(b"".join(self._parts[self._line_at :]), self._quoted)
        if self._quoted:
            self._append(b"\n")
            self._line_at = len(self._parts)
        return self._quoted

    def _append(self, segment: bytes) -> None:
        if not segment:
            return
        if self._oversize_prefix is not None:
            self._size += len(segment)
            return
        if self._size + len(segment) > self.max_row_bytes:
            joined = b"".join(self._parts) + segment[: self.keep_prefix]
            self._oversize_prefix = joined[: self.keep_prefix]
            self._parts = []
            self._size += len(segment)
            return
        self._parts.append(segment)
        self._size += len(segment)

    def _end_record(self) -> RawRow | None:
        self.records += 1
        number = self.records
        size, prefix = self._size, self._oversize_prefix
        data = b"".join(self._parts) if len(self._parts) != 1 else self._parts[0]
        self._parts, self._size, self._line_at, self._quoted, self._oversize_prefix = [], 0, 0, False, None
        if prefix is not None:
            return RawRow(number, prefix, oversize=size)
        if data.endswith(b"\r"):
            data = data[:-1]
        if not data.strip():
            return None
        return RawRow(number, data)
