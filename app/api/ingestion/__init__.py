"""GraphQL for bulk ingestion: jobs, rejections, record/import/cancel/replay, live progress and timelines."""
