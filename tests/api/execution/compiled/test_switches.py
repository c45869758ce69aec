"""Each fast path has its own switch (settings.execution), and no combination of switches changes a response."""

from __future__ import annotations

import itertools

import httpx
import pytest

from app.api.app import create_app
from app.api.execution.fast_executor import FastExecutionContext
from app.api.execution.internals import BaseExecutor
from app.api.execution.parse_cache import CachedParse
from app.api.execution.validation_cache import CachedValidation
from app.api.execution.wiring import executor_class
from app.api.hardening import security_extensions
from app.services.runtime import Resources
from app.settings import Execution, Settings
from tests.access_helpers import ADMIN_TOKEN, bearer
from tests.api.execution.compiled.conftest import Answer, Apps, Seeded, with_execution
from tests.api.execution.compiled.test_differential import CASES, _names, _request

SWITCHES = ("compiled_plans", "fast_executor", "parse_cache", "validation_cache")
SAMPLE = [c for c in CASES if c.name in {
    "bench page 2", "bench bad cursor", "key without read scope", "shapes yes", "shapes null condition",
    "lookup two identifiers", "filter where", "filter refused", "operation by name", "cost refused",
    "not compilable: activity person", "invalid document",
}]


def test_the_sample_covers_every_outcome() -> None:
    assert len(SAMPLE) == 12 and {c.expect for c in SAMPLE} == {"compiled", "fallback", "normal"}


def test_settings_read_each_switch_and_the_old_name(monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().execution == Execution(compiled_plans=True, fast_executor=True, parse_cache=True,
                                             validation_cache=True)
    monkeypatch.setenv("ACTIVITIES_EXECUTION__FAST_EXECUTOR", "false")
    monkeypatch.setenv("ACTIVITIES_EXECUTION__PARSE_CACHE", "false")
    assert Settings().execution == Execution(fast_executor=False, parse_cache=False)
    monkeypatch.setenv("ACTIVITIES_COMPILED_QUERIES", "false")  # the deprecated name still works
    assert Settings().execution.compiled_plans is False
    monkeypatch.setenv("ACTIVITIES_EXECUTION__COMPILED_PLANS", "true")  # and the new one wins
    assert Settings().execution.compiled_plans is True


@pytest.mark.parametrize("on", [True, False])
def test_each_switch_removes_its_part(settings: Settings, on: bool) -> None:
    execution = Execution(**dict.fromkeys(SWITCHES, on))
    assert executor_class(execution) is (FastExecutionContext if on else BaseExecutor)
    built = {type(factory()) for factory in security_extensions(settings.model_copy(update={"execution": execution}))}
    assert (CachedParse in built, CachedValidation in built) == (on, on)


async def test_every_combination_answers_byte_for_byte_as_strawberry_alone(
    apps: Apps, seeded: Seeded, settings: Settings, resources: Resources
) -> None:
    """The reference is Strawberry with every fast path off; each request is sent twice (the first plants plans and
    fills caches, the second is answered from them). `apps` registered the admin key."""
    names = await _names(apps, seeded)
    requests = [_request(case, case.variables, names) for case in SAMPLE]
    expected: list[Answer] = []
    for combination in itertools.product((False, True), repeat=len(SWITCHES)):
        app = create_app(with_execution(settings, **dict(zip(SWITCHES, combination, strict=True))), resources)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t", headers=bearer(ADMIN_TOKEN)) as client:
            answers = [await apps.send(client, request) for request in requests for _ in range(2)]
        comparable = [(a.status, a.headers, a.body) for a in answers]
        if not expected:
            expected = answers
        assert comparable == [(a.status, a.headers, a.body) for a in expected], combination
        plans = app.state.plans
        if plans is not None:
            assert plans.answered >= 4 and plans.fell_back >= 6, (plans.answered, plans.fell_back)
