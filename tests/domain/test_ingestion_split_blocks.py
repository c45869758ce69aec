"""JSONL splitting does not depend on where the upload's blocks end (the fast path and the carry-over path agree)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.ingestion_split import RecordSplitter

pieces = [b"", b"  ", b"{}", b'{"a":1}\r', b"x" * 40, b"\xef\xbb\xbf{}", b"y" * 7]
lines = st.lists(st.sampled_from(pieces), max_size=20)


def split(data: bytes, cuts: list[int], limit: int) -> list[tuple[int, bytes, int | None]]:
    splitter = RecordSplitter(csv=False, max_row_bytes=limit, keep_prefix=8)
    out, start = [], 0
    for cut in [*sorted(c % (len(data) + 1) for c in cuts), len(data)]:
        out += splitter.feed(data[start:cut])
        start = max(start, cut)
    out += splitter.finish()
    return [(r.number, r.data, r.oversize) for r in out]


@settings(max_examples=400)
@given(lines, st.lists(st.integers(min_value=0, max_value=10_000), max_size=6), st.sampled_from([10, 30, 1000]),
       st.booleans())
def test_rows_do_not_depend_on_block_boundaries(rows: list[bytes], cuts: list[int], limit: int, newline: bool) -> None:
    data = b"\n".join(rows) + (b"\n" if newline else b"")
    whole = split(data, [], limit)
    assert split(data, cuts, limit) == whole
    expected_numbers = [i + 1 for i, line in enumerate(data.split(b"\n")) if line.rstrip(b"\r").strip()
                        and not (i == 0 and line.rstrip(b"\r") == b"\xef\xbb\xbf")]
    assert [n for n, _, _ in whole] == expected_numbers
