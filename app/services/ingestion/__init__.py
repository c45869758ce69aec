"""Bulk ingestion: submit jobs (inline or upload), process them in the worker, replay, reconcile, progress."""
