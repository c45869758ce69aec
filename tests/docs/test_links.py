"""Every relative link in README.md, BENCHMARKS.md and docs/ points at a file (and heading) that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.markdown import anchors, links, pages, slug
from tests.stores import PROJECT_ROOT


@pytest.mark.parametrize("page", pages(), ids=lambda p: str(p.relative_to(PROJECT_ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = []
    for target in links(page.read_text()):
        if target.startswith(("http://", "https://", "mailto:")):
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        if not resolved.exists() or not resolved.is_relative_to(PROJECT_ROOT):
            broken.append(f"{target}: no such file in the repository")
        elif fragment and (resolved.suffix != ".md" or fragment not in anchors(resolved.read_text())):
            broken.append(f"{target}: no heading with that anchor")
    assert not broken, f"{page.name}: " + "; ".join(broken)


def test_every_docs_page_is_linked_from_the_readme_or_another_page() -> None:
    linked = set()
    for page in pages():
        for target in links(page.read_text()):
            path = target.partition("#")[0]
            if path and not path.startswith(("http://", "https://")):
                linked.add((page.parent / path).resolve())
    orphans = [p.name for p in (PROJECT_ROOT / "docs").glob("*.md") if p.resolve() not in linked]
    assert not orphans, f"no page links to {orphans}: add them to docs/README.md (or README.md)"


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [("A five-minute tour", "a-five-minute-tour"), ("The `activities` command", "the-activities-command"),
     ("Limits (all in the `limits` query)", "limits-all-in-the-limits-query"), ("Fast paths", "fast-paths")],
)
def test_slug(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor
