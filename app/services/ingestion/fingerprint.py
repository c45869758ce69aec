"""Job idempotency keys: is a re-submission under a used key the same request as the job holding it?"""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.domain.errors import DomainError, ErrorCode
from app.domain.ingestion import IngestionJob

if TYPE_CHECKING:
    from app.services.ingestion.submit import JobSpec


def differences(existing: IngestionJob, existing_sha256: str | None, spec: JobSpec, sha256: str) -> list[str]:
    """The request options (camelCase) in which `spec` differs from the job; a job stored before payload
    digests existed (NULL) is compared on its options only."""
    pairs = {
        "source": (existing.source, spec.source),
        "format": (existing.format, spec.format),
        "activityType": (existing.activity_type, spec.activity_type),
        "dryRun": (existing.dry_run, spec.dry_run),
        "createMissingPersons": (existing.create_missing_persons, spec.create_missing_persons),
        "resumeFrom": (existing.resume_from, spec.resume_from),
        "payload": (existing_sha256 or sha256, sha256),
    }
    return [name for name, (old, new) in pairs.items() if old != new]


def check_reuse(existing: IngestionJob, existing_sha256: str | None, spec: JobSpec, sha256: str) -> None:
    """CONFLICT naming the existing job when the same key comes with a different request, or when whether it
    is the same request cannot be told: the job's upload is still being received, or was interrupted."""
    if existing.receiving:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"Idempotency key already used by ingestion job {existing.id}, whose file is still being received, "
            "so whether this is the same file cannot be told yet; resend once that job is no longer `receiving`, "
            "or use a new key.",
            "input.idempotencyKey",
        )
    if existing.error_code is ErrorCode.UPLOAD_INTERRUPTED:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"Idempotency key already used by ingestion job {existing.id}, whose upload was interrupted (see its "
            f"`error`); send the file again under a new key with resumeFrom: {existing.resume_at} to import the "
            "rows it did not take.",
            "input.idempotencyKey",
        )
    changed = differences(existing, existing_sha256, spec, sha256)
    if changed:
        raise DomainError.of(
            ErrorCode.CONFLICT,
            f"Idempotency key already used by ingestion job {existing.id} for a different request "
            f"(differs in {', '.join(changed)}); use a new key, or resend the same request to get that job.",
            "input.idempotencyKey",
        )
