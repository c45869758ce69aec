"""The record splitter: row numbers, BOM, CRLF, quoted CSV newlines, oversize rows, any block boundaries."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.domain.ingestion import RawRow, decode_chunk, encode_chunk
from app.domain.ingestion_split import RecordSplitter


def split(data: bytes, *, csv: bool = False, max_row_bytes: int = 100, block: int | None = None) -> list[RawRow]:
    splitter = RecordSplitter(csv=csv, max_row_bytes=max_row_bytes, keep_prefix=8)
    rows: list[RawRow] = []
    step = block or max(1, len(data))
    for i in range(0, len(data), step):
        rows += splitter.feed(data[i : i + step])
    return rows + splitter.finish()


def test_lines_keep_their_line_numbers_and_blank_lines_are_skipped() -> None:
    rows = split(b"a\r\n\nb\n  \nc")
    assert [(r.number, r.data) for r in rows] == [(1, b"a"), (3, b"b"), (5, b"c")]


def test_bom_is_dropped_only_at_the_start_even_split_across_blocks() -> None:
    rows = split(b"\xef\xbb\xbfa\n\xef\xbb\xbfb\n", block=1)
    assert [r.data for r in rows] == [b"a", b"\xef\xbb\xbfb"]


def test_csv_newline_inside_quotes_belongs_to_the_record() -> None:
    rows = split(b'h1,h2\n"x\ny",2\n"a ""q"" b",3\n', csv=True)
    assert [(r.number, r.data) for r in rows] == [(1, b"h1,h2"), (2, b'"x\ny",2'), (3, b'"a ""q"" b",3')]


def test_an_oversize_row_keeps_only_a_prefix_and_its_size() -> None:
    rows = split(b"ok\n" + b"z" * 500 + b"\nnext\n", max_row_bytes=100, block=64)
    assert rows[0].data == b"ok" and rows[2].data == b"next"
    assert rows[1].oversize == 500 and rows[1].data == b"z" * 8 and rows[1].number == 2


def test_chunks_round_trip() -> None:
    rows = [RawRow(1, b"a"), RawRow(7, b"zz", oversize=10_000)]
    assert decode_chunk(encode_chunk(rows)) == rows


@given(st.lists(st.binary(max_size=30).filter(lambda b: b"\n" not in b), max_size=20), st.integers(1, 40),
       st.booleans())
def test_block_boundaries_never_change_the_rows(lines: list[bytes], block: int, csv: bool) -> None:
    data = b"\n".join(lines)
    whole = split(data, csv=csv, max_row_bytes=25)
    assert split(data, csv=csv, max_row_bytes=25, block=block) == whole
