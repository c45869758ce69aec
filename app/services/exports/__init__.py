"""Bulk export: jobs, the worker's COPY into the file store, downloads, expiry."""
