"""GraphQL inputs of exports: the search filter of timelines and `activities`, format, compression, columns."""

from __future__ import annotations

import strawberry

from app.api.activities.inputs import ActivitySearch
from app.api.enums import described_enum
from app.domain import exports as domain

ExportFormat = described_enum(domain.ExportFormat, name="ExportFormat",
                              description="JSON Lines (one object per row), or CSV (RFC 4180, with a header) and its "
                              "tab- (TSV) and semicolon-separated (SCV) forms.", values={
    "JSONL": "JSON Lines: one object per row.",
    "CSV": "CSV (RFC 4180) with a header line.",
    "TSV": "Tab-separated values with a header line (Marketo's TSV).",
    "SCV": "Semicolon-separated values with a header line (Marketo's SCV).",
})
ExportCompression = described_enum(domain.Compression, name="ExportCompression",
                                   description="GZIP compresses the file; NONE leaves it plain.",
                                   values={"GZIP": "gzip-compressed file.", "NONE": "Plain, uncompressed file."})

_COLUMNS = (
    "Columns in this order (default: all). Activities: " + ", ".join(domain.ACTIVITY_COLUMNS)
    + "; in CSV of one type also `fields.<apiName>` (one column per field, the default there). Persons: "
    + ", ".join(domain.PERSON_COLUMNS) + "."
)


@strawberry.input(description="Which activities to export, and how.")
class ExportActivitiesInput:
    filter: ActivitySearch | None = strawberry.field(
        default=None, description="The same filter as `activities` (types, persons, time windows, conditions); "
        "none exports every activity.")
    format: ExportFormat = strawberry.field(default=domain.ExportFormat.JSONL,  # type: ignore[valid-type]
                                            description="File format.")
    compression: ExportCompression = strawberry.field(default=domain.Compression.GZIP,  # type: ignore[valid-type]
                                                      description="Compression of the file.")
    columns: list[str] | None = strawberry.field(default=None, description=_COLUMNS)

    def to_domain(self, kind: domain.ExportKind = domain.ExportKind.ACTIVITIES) -> domain.ExportSpec:
        return domain.ExportSpec(
            kind=kind, search=self.filter.to_domain("input.filter") if self.filter is not None else None,
            format=domain.ExportFormat(self.format), compression=domain.Compression(self.compression),
            columns=tuple(self.columns) if self.columns is not None else None,
        )


@strawberry.input(description="Which persons to export (those with a matching activity), and how.")
class ExportPersonsInput(ExportActivitiesInput):
    filter: ActivitySearch | None = strawberry.field(
        default=None, description="Persons with at least one activity matching this filter (or "
        "`minActivitiesPerPerson`); none exports every person.")
