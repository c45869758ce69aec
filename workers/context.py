"""The typed arq job context."""

from __future__ import annotations

from typing import Any, TypedDict

from app.services.runtime import Resources


class WorkerContext(TypedDict, total=False):
    """What arq passes to every job: our resources plus arq's own keys."""

    resources: Resources
    redis: Any
    job_id: str
    job_try: int
    enqueue_time: Any
    score: int
