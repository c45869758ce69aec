"""Repeated JSON keys: the cheap screen never misses one, and the exact check names where it is."""

from __future__ import annotations

import json
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from app.domain.errors import ErrorCode
from app.domain.ingestion import RawRow
from app.domain.ingestion_rows import RowFailure, parse_jsonl
from app.domain.json_keys import may_repeat_keys, repeated_key_issue

keys = st.sampled_from(["a", "b", "fields", 'q"uote', "sp ace", "é", "\\", ":"])
scalars = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["", "x", '":', '\\":', " : "]))
# Objects as lists of pairs, so a key can repeat; rendered with or without spaces around the colon.
trees = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.lists(st.tuples(keys, inner), max_size=4).map(lambda p: ("obj", p)),
    max_leaves=12,
)


def render(tree: Any, spaced: bool) -> str:
    if isinstance(tree, tuple) and tree and tree[0] == "obj":
        colon = " : " if spaced else ":"
        return "{" + ",".join(json.dumps(k) + colon + render(v, spaced) for k, v in tree[1]) + "}"
    if isinstance(tree, list):
        return "[" + ",".join(render(v, spaced) for v in tree) + "]"
    return json.dumps(tree)


def repeats(tree: Any) -> bool:
    if isinstance(tree, tuple) and tree and tree[0] == "obj":
        names = [k for k, _ in tree[1]]
        return len(set(names)) != len(names) or any(repeats(v) for _, v in tree[1])
    return isinstance(tree, list) and any(repeats(v) for v in tree)


@given(trees, st.booleans())
def test_the_screen_never_misses_a_repeated_key(tree: Any, spaced: bool) -> None:
    raw = render(tree, spaced).encode()
    obj = orjson.loads(raw)
    if repeats(tree):
        assert may_repeat_keys(raw, obj)
        assert repeated_key_issue(raw) is not None
    else:
        assert repeated_key_issue(raw) is None


def test_a_row_repeating_a_key_is_rejected_with_its_path() -> None:
    row = b'{"activityType":"t","person":{"email":"a@b.io"},"fields":{"n":1,"x":{"y":1,"y":2}}}'
    failure = parse_jsonl(RawRow(1, row), None)
    assert isinstance(failure, RowFailure)
    assert [(i.code, i.field) for i in failure.issues] == [(ErrorCode.DUPLICATE, "fields.x.y")]
    top = parse_jsonl(RawRow(1, b'{"activityType":"t", "activityType" :"u"}'), None)
    assert isinstance(top, RowFailure) and top.issues[0].field == "activityType"
    assert not may_repeat_keys(b'{"a":{"b":1},"c":[{"d":2}]}', {"a": {"b": 1}, "c": [{"d": 2}]})
