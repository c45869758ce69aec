"""Every setting and limit is documented on some page (docs/configuration.md lists the service-wide ones)."""

from __future__ import annotations

from pydantic import BaseModel

from app.settings import Settings
from tests.docs.markdown import pages

INTERNAL = {"dev_admin_key"}  # set by `activities dev` itself, not by users


def variables() -> list[str]:
    """ACTIVITIES_<NAME> per setting; ACTIVITIES_<GROUP>__<NAME> per field of a nested group (limits, ...)."""
    names = []
    for name, info in Settings.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            names += [f"ACTIVITIES_{name.upper()}__{sub.upper()}" for sub in group.model_fields]
        elif name not in INTERNAL:
            names.append(f"ACTIVITIES_{name.upper()}")
    return names


def test_every_setting_is_documented() -> None:
    text = "\n".join(page.read_text() for page in pages())
    missing = [name for name in variables() if f"`{name}`" not in text]
    assert not missing, f"no page documents {missing} (docs/configuration.md is the place for service-wide ones)"


def test_the_limits_are_found() -> None:
    assert "ACTIVITIES_LIMITS__MAX_PAGE_SIZE" in variables() and "ACTIVITIES_PORT" in variables()
