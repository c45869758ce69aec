"""Whether a rejected raw record names a person, judged on the record as decoded, not as spelled."""

from __future__ import annotations

import re
from dataclasses import dataclass

import orjson

# JSON string escapes that can hide an identifier's characters (`\u0040` for `@`, `\/` for `/`): decoded in
# records that are not valid JSON, so a malformed row cannot keep a person's email past an erasure.
_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\(/)")


@dataclass(frozen=True, slots=True)
class ErasedIdentity:
    """What names the erased person in raw text: the email (case-insensitive substring) and the external id
    (as a JSON string anywhere, or as a whole CSV cell when 6+ characters long, so short ids are not taken for
    some other value)."""

    email: str | None
    external_id: str | None

    @property
    def needles(self) -> list[str]:
        """Substrings every matching record contains once decoded: a cheap superset filter for the database
        (with records holding a backslash, whose decoded text may differ from their spelling)."""
        return [n for n in (self.email, self.external_id) if n]

    def named_in(self, record: str) -> bool:
        return any(self._matches(text) for text in spellings(record))

    def _matches(self, text: str) -> bool:
        if self.email and self.email.lower() in text.lower():
            return True
        ext = self.external_id
        if not ext:
            return False
        if orjson.dumps(ext).decode() in text:
            return True
        return len(ext) >= 6 and re.search(f"(^|,){re.escape(ext)}(,|$)", text) is not None


def spellings(record: str) -> list[str]:
    """The record as stored and, when it holds an escape, as decoded: a JSON record is parsed and written out
    again without escapes; any other text has its `\\uXXXX` and `\\/` escapes replaced."""
    if "\\" not in record:
        return [record]
    try:
        decoded = orjson.dumps(orjson.loads(record)).decode()
    except orjson.JSONDecodeError:
        decoded = _ESCAPE.sub(_unescape, record)
    return [record, decoded]


def _unescape(match: re.Match[str]) -> str:
    return chr(int(match[1], 16)) if match[1] else "/"
