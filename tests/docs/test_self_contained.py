"""Docs, code and tests name nothing outside the repository (design notes, issue numbers, shared folders)."""

from __future__ import annotations

import re

from tests.stores import PROJECT_ROOT

OUTSIDE = re.compile(r"DESIGN\.md|tech-notes|style-anchors|peers\.md|marketo\.md|/work/shared|\bissue #\d+", re.I)


def test_nothing_outside_the_repository_is_referred_to() -> None:
    here = {PROJECT_ROOT / "tests" / "docs" / "test_self_contained.py"}
    files = [PROJECT_ROOT / name for name in ("README.md", "BENCHMARKS.md", "Dockerfile", "docker-compose.yml")]
    for folder, pattern in (("docs", "*.md"), ("app", "*.py"), ("workers", "*.py"), ("tests", "*.py"),
                            ("scripts", "*")):
        files += sorted((PROJECT_ROOT / folder).rglob(pattern))
    found = [f"{path.relative_to(PROJECT_ROOT)}:{n}: {line.strip()}"
             for path in files if path.is_file() and path not in here
             for n, line in enumerate(path.read_text().splitlines(), 1) if OUTSIDE.search(line)]
    assert not found, "\n".join(found)
