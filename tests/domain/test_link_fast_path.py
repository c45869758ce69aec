"""The LINK fast path accepts only what the full urlsplit check accepts, and the full check still decides the rest."""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.validators.strings import _WHITESPACE_OR_CONTROL, FAST_LINK

# URL-ish text: the characters that matter to urlsplit, plus whitespace, controls and a non-ASCII letter.
urlish = st.text(alphabet=st.sampled_from(list("hHtps:/.?#@[]-_%:0123456789aBz \t\x00\x7fé")), max_size=30)
prefixed = st.builds(lambda scheme, rest: scheme + rest,
                     st.sampled_from(["http://", "https://", "HTTP://", "http:/", "ftp://", ""]), urlish)


def slow_accepts(value: str) -> bool:
    if _WHITESPACE_OR_CONTROL.search(value) is not None:
        return False
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


@settings(max_examples=3000)
@given(prefixed)
def test_fast_path_accepts_a_subset_of_the_full_check(value: str) -> None:
    if FAST_LINK.fullmatch(value) is not None:
        assert slow_accepts(value), value


def test_fast_path_covers_common_links() -> None:
    for link in ("https://example.com/a?b=c#d", "http://localhost:8000/x", "https://www.example.org",
                 "https://shop.example.com/p/42?utm_source=mail&x=%20y", "http://10.0.0.1:8080/"):
        assert FAST_LINK.fullmatch(link) is not None, link
    for link in ("example.com", "javascript:alert(1)", "ftp://example.com/x", "https://exa mple.com",
                 "http://[::1", "https://", "https://u:p@host/", "https://-/x\x7f"):
        assert FAST_LINK.fullmatch(link) is None, link
