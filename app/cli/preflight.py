"""Start-up checks run before the API or a worker starts: a refusal is one clear log line, not a traceback."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from pydantic import ValidationError

if TYPE_CHECKING:
    from app.settings import Settings

logger = logging.getLogger("app.cli")


class StartupRefused(Exception):
    """The process cannot start as configured; the message says what to change."""


def settings_problem(error: ValidationError) -> str:
    """One line naming each refused ACTIVITIES_* variable and why (pydantic's report is a multi-line table)."""
    parts = []
    for issue in error.errors():
        message = issue["msg"].removeprefix("Value error, ")
        if issue["loc"]:  # a field's own check; cross-field checks name their variables in the message
            message = "ACTIVITIES_" + "__".join(str(p) for p in issue["loc"]).upper() + ": " + message
        parts.append(message)
    return "; ".join(parts)


def check_startup(settings: Settings, *, api: bool) -> None:
    """Reach PostgreSQL and Redis and, for the API, register the bootstrap key and apply the production rules."""
    asyncio.run(_check(settings, api=api))


async def _check(settings: Settings, *, api: bool) -> None:
    # Imported here: `activities --help` and friends stay light.
    from redis.exceptions import RedisError
    from sqlalchemy.exc import SQLAlchemyError

    from app.api.auth import InsecureConfiguration, prepare_access
    from app.domain.errors import DomainError
    from app.services.health import reach_database
    from app.services.runtime import Resources
    from app.services.secret_keys import MissingSecretKey

    try:
        resources = await Resources.open(settings)
    except (OSError, RedisError) as error:
        raise StartupRefused(f"cannot reach Redis at ACTIVITIES_REDIS_URL: {error}") from None
    try:
        try:
            await reach_database(resources)
        except (OSError, SQLAlchemyError) as error:
            raise StartupRefused(f"cannot reach PostgreSQL at ACTIVITIES_DATABASE_URL: {_first_line(error)}") from None
        if api:
            try:
                await prepare_access(settings, resources)
            except SQLAlchemyError as error:
                raise StartupRefused(f"the database is not ready (has `activities migrate` run?): {_first_line(error)}"
                                     ) from None
            except InsecureConfiguration as error:
                raise StartupRefused(str(error)) from None
            except DomainError as error:
                raise StartupRefused(f"ACTIVITIES_BOOTSTRAP_ADMIN_KEY refused: {error}") from None
        try:
            resources.secret_box  # noqa: B018 - read the keys now: a missing one refuses the start, not a request
        except MissingSecretKey as error:
            raise StartupRefused(str(error)) from None
    finally:
        await resources.close()


def _first_line(error: BaseException) -> str:
    return str(getattr(error, "orig", None) or error).strip().splitlines()[0]
