"""Logging: JSON lines outside dev, with the request and job ids of the current context."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from app.logs import configure_logging, job_id_var, request_id_var
from app.settings import Settings


@pytest.fixture
def restore_logging(settings: Settings) -> Iterator[None]:
    yield
    configure_logging(settings)


def test_prod_logs_are_json_lines_with_context_ids(
    capsys: pytest.CaptureFixture[str], restore_logging: None
) -> None:
    configure_logging(Settings(environment="prod", log_level="INFO"))
    request_token, job_token = request_id_var.set("req-1"), job_id_var.set("job-9")
    try:
        logging.getLogger("app.test").info("imported %d rows", 42)
    finally:
        request_id_var.reset(request_token)
        job_id_var.reset(job_token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    record = json.loads(line)
    assert record["message"] == "imported 42 rows"
    assert record["level"] == "INFO"
    assert record["logger"] == "app.test"
    assert (record["request_id"], record["job_id"]) == ("req-1", "job-9")


def test_dev_logs_are_text_with_ids_appended(capsys: pytest.CaptureFixture[str], restore_logging: None) -> None:
    configure_logging(Settings(environment="dev", log_level="INFO"))
    token = job_id_var.set("job-7")
    try:
        logging.getLogger("app.test").warning("slow chunk")
    finally:
        job_id_var.reset(token)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "WARNING app.test: slow chunk" in line
    assert line.endswith("[job_id=job-7]")
