"""Embedded PostgreSQL and Redis for laptops and tests: real servers, data kept in a local folder."""
