"""Reading the project's Markdown: pages, sections by heading, fenced code blocks, links and anchors."""

from __future__ import annotations

import re
from pathlib import Path

from tests.stores import PROJECT_ROOT

FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^(#{1,6}) +(.+?) *$", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def pages() -> list[Path]:
    """README.md, BENCHMARKS.md and every page under docs/."""
    return [PROJECT_ROOT / "README.md", PROJECT_ROOT / "BENCHMARKS.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]


def without_code(text: str) -> str:
    """The text with fenced blocks blanked out, offsets kept (a `# comment` in a bash block is no heading)."""
    return FENCE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def section(text: str, heading: str) -> str:
    """The body under the heading titled `heading`, up to the next heading of any level."""
    prose = without_code(text)
    found = [m for m in HEADING.finditer(prose) if m.group(2) == heading]
    assert len(found) == 1, f"expected one heading {heading!r}, found {len(found)}"
    start = found[0].end()
    following = HEADING.search(prose, start)
    return text[start : following.start() if following else len(text)]


def code_blocks(text: str, language: str) -> list[str]:
    return [m.group(2) for m in FENCE.finditer(text) if m.group(1) == language]


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", lambda m: m.group(1) or "", heading).lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    out = set()
    for match in HEADING.finditer(without_code(text)):
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        out.add(base if count == 0 else f"{base}-{count}")
    return out


def links(text: str) -> list[str]:
    return LINK.findall(without_code(text))
