"""Hypothesis strategies for smart-list logic trees, and their text (what clients write)."""

from __future__ import annotations

from hypothesis import strategies as st

from app.domain import smart_list_logic as logic


def trees(filters: int, max_leaves: int = 8) -> st.SearchStrategy[logic.Node]:
    """Trees of not/and/or over filter numbers 1..filters."""
    return st.recursive(
        st.integers(1, filters).map(logic.Ref),
        lambda inner: inner.map(logic.Not)
        | st.lists(inner, min_size=2, max_size=3).map(lambda c: logic.And(tuple(c)))
        | st.lists(inner, min_size=2, max_size=3).map(lambda c: logic.Or(tuple(c))),
        max_leaves=max_leaves,
    )


def text(node: logic.Node, *, bare_not: bool = False) -> str:
    """The expression for `node`, fully parenthesised; `bare_not` writes `not 1` rather than `not (1)`."""
    if isinstance(node, logic.Ref):
        return str(node.number)
    if isinstance(node, logic.Not):
        inner = text(node.child, bare_not=bare_not)
        return f"not {inner}" if bare_not else f"not ({inner})"
    word = " and " if isinstance(node, logic.And) else " or "
    return "(" + word.join(text(c, bare_not=bare_not) for c in node.children) + ")"
