"""CRLF record ends over PostgreSQL-style CSV: Python's csv module writes the expected file, split anywhere."""

from __future__ import annotations

import csv
import io
import itertools

from hypothesis import given
from hypothesis import strategies as st

from app.domain.csv_records import CrlfRecords

CELLS = st.text(alphabet=st.sampled_from(['a', 'é', ',', '"', '\n', ' ', '😀']), max_size=6)
RECORDS = st.lists(st.lists(CELLS, min_size=1, max_size=4), min_size=1, max_size=6)


def _csv(records: list[list[str]], end: str) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out, lineterminator=end).writerows(records)
    return out.getvalue().encode()


@given(RECORDS, st.lists(st.integers(min_value=0, max_value=200), max_size=5))
def test_records_end_with_crlf_and_fields_keep_their_newlines(records: list[list[str]], cuts: list[int]) -> None:
    lf = _csv(records, "\n")  # what COPY ... CSV sends: LF after each record, LF kept inside quoted fields
    bounds = sorted({0, len(lf), *(c % (len(lf) + 1) for c in cuts)})
    converter = CrlfRecords()
    out = b"".join(converter.convert(lf[a:b]) for a, b in itertools.pairwise(bounds))
    assert out == _csv(records, "\r\n")
    assert converter.records == len(records)
    assert list(csv.reader(io.StringIO(out.decode(), newline=""))) == records
