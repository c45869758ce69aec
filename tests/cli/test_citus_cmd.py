"""`activities citus`: what it says without a cluster, where it finds Citus, and its build cache."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from app.embedded.citus import find_source, install_from_cache
from tests.stores import PROJECT_ROOT


def _citus(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "ACTIVITIES_DATA_DIR": str(tmp_path / "data"), "HOME": str(tmp_path)}
    return subprocess.run([sys.executable, "-m", "app.cli.main", "citus", *args], env=env, cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_status_and_url_of_a_cluster_that_is_not_running(tmp_path: Path) -> None:
    status = _citus(tmp_path, "status")
    assert status.returncode == 1
    assert [line.split() for line in status.stdout.splitlines()] == [
        ["coordinator", "stopped"], ["worker1", "stopped"], ["worker2", "stopped"]
    ]
    url = _citus(tmp_path, "url")
    assert url.returncode == 1 and "not running: `activities citus up`" in url.stdout
    down = _citus(tmp_path, "down")
    assert down.returncode == 0 and "no node was running" in down.stdout


def test_the_source_is_configured_or_found_in_a_parent(tmp_path: Path) -> None:
    source = tmp_path / "shared" / "citus"
    source.mkdir(parents=True)
    project = tmp_path / "checkouts" / "project"
    project.mkdir(parents=True)
    assert find_source(project) is None
    (source / "build.sh").write_text("#!/bin/sh\n")
    assert find_source(project) == source
    assert find_source(project, configured=tmp_path / "elsewhere") is None
    assert find_source(project, configured=source) == source


def test_a_cached_build_installs_into_any_install_path(tmp_path: Path) -> None:
    # build.sh stages files under the absolute paths of the PostgreSQL it first built for (another venv).
    stage = tmp_path / "cache" / "key"
    lib = stage / "old" / "venv" / "pginstall" / "lib"
    ext = stage / "old" / "venv" / "pginstall" / "share" / "extension"
    (lib / "citus_decoders").mkdir(parents=True)
    ext.mkdir(parents=True)
    for path in (lib / "citus.so", lib / "citus_columnar.so", lib / "citus_decoders" / "pgoutput.so",
                 ext / "citus.control", ext / "citus--15.0.sql"):
        path.write_text(path.name)
    pkglibdir, sharedir = tmp_path / "new" / "lib", tmp_path / "new" / "share"
    (sharedir / "extension").mkdir(parents=True)
    pkglibdir.mkdir(parents=True)
    assert not install_from_cache(stage, pkglibdir, sharedir)  # not finished: no .done marker
    (stage / ".done").touch()
    assert install_from_cache(stage, pkglibdir, sharedir)
    assert sorted(p.name for p in pkglibdir.rglob("*")) == [
        "citus.so", "citus_columnar.so", "citus_decoders", "pgoutput.so"
    ]
    assert sorted(p.name for p in (sharedir / "extension").iterdir()) == ["citus--15.0.sql", "citus.control"]
