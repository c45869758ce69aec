"""Start-up leaves its long-lived objects frozen, out of the cyclic GC's full collections."""

from __future__ import annotations

import gc

from asgi_lifespan import LifespanManager

from app.api.app import create_app
from app.services.runtime import Resources
from app.settings import Settings


async def test_startup_objects_are_frozen(settings: Settings, resources: Resources) -> None:
    gc.unfreeze()
    try:
        async with LifespanManager(create_app(settings, resources=resources)):
            frozen = gc.get_freeze_count()
        # Full collections then scan only what requests allocate, not the schema and modules (~60 ms each).
        assert frozen > 10_000
    finally:
        gc.unfreeze()  # the test process keeps collecting normally
