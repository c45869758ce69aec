"""Fixtures shared by the end-to-end fault tests: real worker processes and private stores to restart."""

from tests.e2e.test_ingestion_faults import private_redis, private_stack, start_worker

__all__ = ["private_redis", "private_stack", "start_worker"]
