"""The PostGraphile comparison's pieces that need no node: the folder check and the response check."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.bench.postgraphile import executable, ok
from app.cli.main import build_parser


def test_a_folder_without_postgraphile_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(ValueError, match="npm install node@22 postgraphile@5"):
        executable(tmp_path)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--only", "timeline", "--postgraphile", str(tmp_path)])
    assert "no PostGraphile in" in capsys.readouterr().err
    command = tmp_path / "node_modules" / ".bin" / "postgraphile"
    command.parent.mkdir(parents=True)
    command.touch()
    args = build_parser().parse_args(["bench", "--only", "timeline", "--postgraphile", str(tmp_path)])
    assert args.postgraphile == tmp_path.resolve()


def test_only_a_page_without_errors_counts() -> None:
    assert ok(b'{"data":{"allActivities":{"edges":[]}}}')
    assert not ok(b'{"errors":[{"message":"jwt malformed"}]}')
    assert not ok(b'{"data":{"allActivities":null},"errors":[{"message":"x"}]}')
