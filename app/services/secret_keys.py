"""The keys that seal secrets at rest: ACTIVITIES_SECRET_KEYS in production, a generated one in the data dir in dev."""

from __future__ import annotations

import logging
import os

from app.domain.sealing import SecretBox, new_key, parse_key
from app.settings import Settings

logger = logging.getLogger(__name__)
KEY_FILE = "secret-key"  # in the data dir, mode 0600: dev and test only


class MissingSecretKey(Exception):
    """Production without ACTIVITIES_SECRET_KEYS (a key kept beside the data it protects protects nothing)."""


def load_box(settings: Settings) -> SecretBox:
    """The configured keys, first one sealing; outside production without any configured, the data dir's own key
    (made on first use), so a laptop needs no set-up and its secrets still never sit in plain text."""
    if settings.secret_keys is not None:
        try:
            keys = [parse_key(k) for k in settings.secret_keys.get_secret_value().split(",") if k.strip()]
        except ValueError as error:  # the message never holds the key
            raise MissingSecretKey(f"ACTIVITIES_SECRET_KEYS: {error}") from None
        if keys:
            return SecretBox(keys)
    if settings.environment == "prod":
        raise MissingSecretKey("ACTIVITIES_SECRET_KEYS is required in prod (comma-separated keys, the first seals; "
                               "make one with `python -c \"import base64, os; "
                               "print(base64.urlsafe_b64encode(os.urandom(32)).decode())\"`)")
    return SecretBox([parse_key(_local_key(settings))])


def _local_key(settings: Settings) -> str:
    path = settings.data_dir / KEY_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = path.with_name(f"{KEY_FILE}.{os.getpid()}")
        fresh.touch(mode=0o600)
        fresh.write_text(new_key() + "\n")
        try:  # a link is atomic and never replaces: of two processes starting together, both read the winner's
            os.link(fresh, path)
            logger.info("made a secret key for this data dir at %s (set ACTIVITIES_SECRET_KEYS in production)", path)
        except FileExistsError:
            pass
        finally:
            fresh.unlink()
    return path.read_text().strip()
