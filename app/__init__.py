"""Custom Activities service: typed activity types, bulk ingestion and per-person timelines."""

__version__ = "0.1.0"
