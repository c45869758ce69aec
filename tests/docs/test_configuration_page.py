"""docs/configuration.md names every setting and every limit, so a new one cannot go undocumented."""

from __future__ import annotations

from app.settings import Limits, Settings
from tests.stores import PROJECT_ROOT

PAGE = (PROJECT_ROOT / "docs" / "configuration.md").read_text()
INTERNAL = {"dev_admin_key"}  # set by `activities dev` itself, not by users


def test_every_setting_is_documented() -> None:
    missing = [f"ACTIVITIES_{name.upper()}" for name in Settings.model_fields
               if name not in INTERNAL | {"limits"} and f"`ACTIVITIES_{name.upper()}`" not in PAGE]
    assert not missing, f"docs/configuration.md does not document {missing}"


def test_every_limit_is_documented() -> None:
    missing = [f"ACTIVITIES_LIMITS__{name.upper()}" for name in Limits.model_fields
               if f"`ACTIVITIES_LIMITS__{name.upper()}`" not in PAGE]
    assert not missing, f"docs/configuration.md does not document {missing}"
