"""A local Citus cluster for development and tests: a coordinator and two workers from the embedded PostgreSQL.

Citus is not on PyPI: it is compiled from source by a `build.sh` (this project's CI keeps it in
`../shared/citus/`, found in a parent of the project or named by ACTIVITIES_CITUS_SOURCE) into the embedded
PostgreSQL of the current environment. The nodes live in `<data_dir>/citus/<node>`; `up` starts them on free
ports (the same ones as last time when free) and joins them, `down` stops them. See docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from app.db.distribution import join_database
from app.embedded.postgres import HOST, EmbeddedPostgres, bin_dir

NODES = ("coordinator", "worker1", "worker2")
# Citus preloaded; small buffers (three servers share the machine); logical WAL so shards can be moved
# (citus_rebalance_start copies shards by logical replication).
NODE_OPTIONS = "-c shared_preload_libraries=citus -c shared_buffers=64MB -c wal_level=logical -c max_wal_senders=10"
BUILD_CACHE = Path(os.environ.get("CITUS_CACHE", Path.home() / ".cache" / "citus-build"))


class CitusUnavailable(RuntimeError):
    """Citus cannot be built here (no source found, or the build failed); the message says what to do."""


def find_source(start: Path, configured: Path | None = None) -> Path | None:
    """The directory holding Citus' build.sh: `configured` (ACTIVITIES_CITUS_SOURCE), else `shared/citus` in a
    parent of `start`."""
    if configured is not None:
        return configured if (configured / "build.sh").is_file() else None
    for parent in [start, *start.parents]:
        if (parent / "shared" / "citus" / "build.sh").is_file():
            return parent / "shared" / "citus"
    return None


def _pg_config(flag: str) -> str:
    out = subprocess.run([str(bin_dir() / "pg_config"), flag], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def installed() -> bool:
    """Whether the embedded PostgreSQL has the citus extension files."""
    return (Path(_pg_config("--pkglibdir")) / "citus.so").is_file() and (
        Path(_pg_config("--sharedir")) / "extension" / "citus.control"
    ).is_file()


def _cache_key(source: Path) -> str:
    """build.sh's cache key (tarball name, PostgreSQL version, compiler): independent of the install path."""
    tarball = sorted(source.glob("citus-*.tar.gz"))[0].name
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    text = f"{tarball}\n{_pg_config('--version')}\n{''.join(gcc)}\n"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def install_from_cache(stage: Path, pkglibdir: Path, sharedir: Path) -> bool:
    """Copy a finished build's files into a PostgreSQL's directories, whatever install path the build was made
    for (build.sh stages files under the absolute paths of the first install); False if `stage` has none."""
    libs = list(stage.rglob("citus*.so"))
    extension = next((p.parent for p in stage.rglob("citus.control")), None)
    if not (stage / ".done").is_file() or not libs or extension is None:
        return False
    for lib in libs:
        shutil.copy2(lib, pkglibdir / lib.name)
    decoders = libs[0].parent / "citus_decoders"
    if decoders.is_dir():
        shutil.copytree(decoders, pkglibdir / "citus_decoders", dirs_exist_ok=True)
    for file in extension.glob("citus*"):
        shutil.copy2(file, sharedir / "extension" / file.name)
    return True


def ensure_installed(project_root: Path, configured: Path | None = None) -> str:
    """Install Citus into the embedded PostgreSQL (from the build cache if any build has the same key); says how."""
    if installed():
        return "citus already installed"
    source = find_source(project_root, configured)
    if source is None:
        raise CitusUnavailable(
            "Citus is not installed in the embedded PostgreSQL and no Citus source was found (looked for "
            "shared/citus/build.sh in the parents of the project; set ACTIVITIES_CITUS_SOURCE to its directory). "
            "Without it, use the docker-compose `citus` profile or an existing cluster (docs/scaling.md)."
        )
    pkglibdir, sharedir = Path(_pg_config("--pkglibdir")), Path(_pg_config("--sharedir"))
    if install_from_cache(BUILD_CACHE / _cache_key(source), pkglibdir, sharedir):
        return "citus installed from the build cache"
    result = subprocess.run(
        ["nice", "-n", "10", str(source / "build.sh"), str(bin_dir() / "pg_config")], capture_output=True, text=True
    )
    if result.returncode != 0 or not installed():
        raise CitusUnavailable(f"building Citus failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return "citus built and installed (cached for the next install)"


@dataclass(frozen=True)
class NodeStatus:
    name: str
    port: int | None


class LocalCitus:
    """The three nodes under `<data_dir>/citus`."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir.resolve() / "citus"
        self.nodes = {name: EmbeddedPostgres(self.root, name, NODE_OPTIONS) for name in NODES}
        self.ports_file = self.root / "ports.json"

    def _saved_ports(self) -> dict[str, int]:
        try:
            saved = json.loads(self.ports_file.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return {k: v for k, v in saved.items() if isinstance(v, int)}

    def up(self, database: str = "activities") -> str:
        """Start the nodes that are down, join them into one cluster for `database`; the coordinator's URL."""
        saved = self._saved_ports()
        ports = {name: node.up(saved.get(name)) for name, node in self.nodes.items()}
        self.ports_file.write_text(json.dumps(ports))
        moved = {saved[n]: p for n, p in ports.items() if n in saved and saved[n] != p}
        workers = [ports[n] for n in NODES[1:]]
        for db in ("postgres", database):
            asyncio.run(join_database(self.url("postgres"), db, HOST, ports["coordinator"], workers, moved))
        return self.url(database)

    def down(self) -> list[str]:
        """Stop every running node (workers first); the names of those stopped."""
        return [name for name in reversed(NODES) if self.nodes[name].down()]

    def status(self) -> list[NodeStatus]:
        return [NodeStatus(name, node.running_port()) for name, node in self.nodes.items()]

    def url(self, database: str = "activities") -> str:
        port = self.nodes["coordinator"].running_port()
        if port is None:
            raise RuntimeError("the local Citus cluster is not running: `activities citus up`")
        return f"postgresql://postgres@{HOST}:{port}/{database}"
