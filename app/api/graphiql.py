"""GraphiQL page: Strawberry's bundle, opened on a document that shows what the service does."""

from __future__ import annotations

import json
import re

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
    html = _EXAMPLE_RE.sub(lambda _: f"const EXAMPLE_QUERY = `{document}`;", base_html, count=1)
    if headers:
        assignments = "".join(
            f"defaultHeaders[{json.dumps(name)}] = {json.dumps(value)};" for name, value in headers.items()
        )
        html = html.replace("const subscriptionUrl", f"{assignments}\n      const subscriptionUrl", 1)
    return html
