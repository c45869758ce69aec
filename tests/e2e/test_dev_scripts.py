"""scripts/_venv.sh says what it is doing while it installs, and only then."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.stores import PROJECT_ROOT

STUB = """#!/usr/bin/env bash
echo "$0 $*" >> "$(dirname "$0")/../calls.log"
"""


def _source_venv(venv: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, ACTIVITIES_VENV=str(venv))
    return subprocess.run(["bash", "-c", f"source {PROJECT_ROOT / 'scripts' / '_venv.sh'}"], env=env,
                          capture_output=True, text=True, timeout=60)


def test_first_install_is_announced_and_a_ready_venv_is_silent(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    for tool in ("python", "pip"):  # stand-ins: record the install commands instead of running them
        (venv / "bin" / tool).write_text(STUB)
        (venv / "bin" / tool).chmod(0o755)

    first = _source_venv(venv)
    assert first.returncode == 0, first
    assert "installing dependencies into" in first.stderr and "~1 min" in first.stderr, first.stderr
    assert "install" in (venv / "calls.log").read_text()

    again = _source_venv(venv)
    assert again.returncode == 0, again
    assert "installing" not in again.stderr, again.stderr
