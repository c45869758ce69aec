"""The verification snippets of docs/triggers.md (Python and JavaScript) accept what the service sends and refuse
a forged or stale message."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from typing import Any

import pytest

from app.domain.webhook_signing import headers, new_secret
from tests.docs.markdown import code_blocks, section
from tests.stores import PROJECT_ROOT

PAGE = (PROJECT_ROOT / "docs" / "triggers.md").read_text()
SNIPPETS = section(PAGE, "Verifying a request")
BODY = b'{"trigger": {"id": "t", "name": "n"}, "activities": []}'


def cases() -> list[tuple[str, str, dict[str, str], bool]]:
    """(name, secret, headers, should verify)."""
    secret, other = new_secret(), new_secret()
    now = int(time.time())
    signed = headers([secret], "msg_1", now, BODY)
    rotating = headers([other, secret], "msg_2", now, BODY)
    forged = headers([other], "msg_3", now, BODY)
    stale = headers([secret], "msg_4", now - 3600, BODY)
    return [("signed", secret, signed, True), ("rotation", secret, rotating, True),
            ("forged", secret, forged, False), ("stale", secret, stale, False)]


def test_the_python_snippet() -> None:
    (source,) = code_blocks(SNIPPETS, "python")
    namespace: dict[str, Any] = {}
    exec(source, namespace)  # the page's code, as a reader would paste it
    for name, secret, sent, ok in cases():
        try:
            result = namespace["verify"](secret, sent, BODY)
        except ValueError:
            assert not ok, name
        else:
            assert ok and result == sent["webhook-id"], name


@pytest.mark.skipif(shutil.which("node") is None, reason="Node.js is not installed here")
def test_the_javascript_snippet() -> None:
    (source,) = code_blocks(SNIPPETS, "js")
    harness = source + (
        "\nconst input = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));\n"
        "const out = input.map(([secret, headers]) => { try { return verify(secret, headers, "
        "Buffer.from(" + json.dumps(BODY.decode()) + ")); } catch (e) { return null; } });\n"
        "process.stdout.write(JSON.stringify(out));\n"
    )
    checks = cases()
    result = subprocess.run(["node", "-e", harness], input=json.dumps([[c[1], c[2]] for c in checks]),
                            capture_output=True, text=True, timeout=30, check=True)
    answers = json.loads(result.stdout)
    for (name, _, sent, ok), answer in zip(checks, answers, strict=True):
        assert answer == (sent["webhook-id"] if ok else None), name
