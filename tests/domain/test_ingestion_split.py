"""The record splitter: row numbers, BOM, CRLF, quoted CSV newlines, oversize rows, any block boundaries."""

from __future__ import annotations

import csv
import io

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


def test_a_quote_inside_an_unquoted_csv_cell_is_a_plain_character() -> None:
    # RFC 4180 and the csv module: a quote opens a quoted field only at the start of a field.
    data = b'h1,h2\nTV 5" screen,1\nb,2\n"x ""y"" z",3\nq"q,4\n'
    rows = split(data, csv=True)
    assert [(r.number, r.data) for r in rows] == [
        (1, b"h1,h2"), (2, b'TV 5" screen,1'), (3, b"b,2"), (4, b'"x ""y"" z",3'), (5, b'q"q,4')]
    assert split(data, csv=True, block=3) == rows


def test_an_oversize_csv_record_ends_at_the_next_line() -> None:
    # An unterminated quote would otherwise swallow the rest of the file into one oversize record: the record
    # is cut at the first line end after it passed the limit, and splitting resumes there.
    data = b'h\n"never closed,1\n' + b"".join(b"row%d,%d\n" % (i, i) for i in range(20))
    for block in (1, 7, len(data)):
        rows = split(data, csv=True, max_row_bytes=30, block=block)
        assert rows[1].number == 2 and rows[1].oversize == len(b'"never closed,1\nrow0,0\nrow1,1\nrow2,2')
        assert [(r.number, r.data) for r in rows[2:]] == [(i, b"row%d,%d" % (i, i)) for i in range(3, 20)]


csv_tokens = st.sampled_from(["a", "b", ",", '"', '""', "\n", "\r\n"])


@given(st.lists(csv_tokens, max_size=40), st.integers(1, 12))
def test_csv_records_are_those_the_csv_module_reads(tokens: list[str], block: int) -> None:
    text = "".join(tokens)
    expected = [r for r in csv.reader(io.StringIO(text, newline="")) if r]
    got = [list(csv.reader(io.StringIO(r.data.decode(), newline="")))
           for r in split(text.encode(), csv=True, max_row_bytes=1000, block=block)]
    assert got == [[r] for r in expected]
