"""GraphiQL page: Strawberry's bundle served from this package (works offline), opened on a useful document."""

from __future__ import annotations

import json
import re
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

# Strawberry's page loads 7 files from unpkg.com. The same bytes (its `integrity` hashes hold, a test checks) are
# kept under static/graphiql/<package>@<version>/ (see NOTICE.md there), so GraphiQL works without internet.
CDN = "https://unpkg.com/"
ASSETS_PATH = "/graphiql-assets"
ASSETS_DIR = Path(__file__).parent / "static" / "graphiql"

EXAMPLE_DOCUMENT = """# Custom Activities: explore with the Docs panel (top left) or run an operation below.
# Ctrl-Enter runs the operation under the cursor.

query ActivityTypes {
  activityTypes(first: 20) {
    edges { node { apiName name status isSystem primaryField { apiName dataType } } }
  }
}

query Timeline($email: String = "ann@example.com") {
  person(email: $email) {
    id email
    timeline(first: 20) {
      edges { node { occurredAt activityType { apiName } primaryValue fields } }
      pageInfo { hasNextPage endCursor }
    }
  }
}

query Limits { limits { maxInlineActivities maxUploadBytes maxPageSize } }
"""

_EXAMPLE_RE = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)


def render_graphiql(base_html: str, headers: dict[str, str] | None = None) -> str:
    """Strawberry's GraphiQL page with our example document and optional default request headers."""
    document = EXAMPLE_DOCUMENT.replace("\\", "\\\\").replace("`", "\\`").replace("${", "\\${")
    html = base_html.replace(CDN, ASSETS_PATH + "/")
    html = _EXAMPLE_RE.sub(lambda _: f"const EXAMPLE_QUERY = `{document}`;", html, count=1)
    if headers:
        assignments = "".join(
            f"defaultHeaders[{json.dumps(name)}] = {json.dumps(value)};" for name, value in headers.items()
        )
        html = html.replace("const subscriptionUrl", f"{assignments}\n      const subscriptionUrl", 1)
    return html


def graphiql_assets() -> Mount:
    """The route serving GraphiQL's scripts and styles (ETag and Last-Modified from StaticFiles)."""
    return Mount(ASSETS_PATH, app=StaticFiles(directory=ASSETS_DIR), name="graphiql-assets")
