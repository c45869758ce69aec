"""The GraphQL documents the benchmarks send, and the keyset cursor the baseline endpoint uses."""

from __future__ import annotations

import base64
from datetime import datetime

ACTIVITY_SELECTION = """
        id
        activityType { apiName }
        typeVersion
        occurredAt
        ingestedAt
        primaryValue
        fields
        idempotencyKey
"""

TIMELINE = (
    """query Timeline($id: ID!, $first: Int!, $after: String) {
  person(id: $id) {
    timeline(first: $first, after: $after) {
      edges { cursor node {"""
    + ACTIVITY_SELECTION
    + """} }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""
)

NEWEST_KEYS = """query Newest($id: ID!, $first: Int!) {
  person(id: $id) { timeline(first: $first) { edges { node { idempotencyKey } } } }
}"""

RECORD = """mutation Record($input: RecordActivitiesInput!) {
  recordActivities(input: $input) { job { id status } errors { code field message } }
}"""

JOB_TIMES = """query JobTimes($id: ID!) {
  ingestionJob(id: $id) { timings { createdAt startedAt finishedAt } }
}"""

IMPORT = """mutation Import($input: ImportActivitiesInput!) {
  importActivities(input: $input) { job { id status } errors { code field message } }
}"""

JOB = """query Job($id: ID!) {
  ingestionJob(id: $id) {
    id status error
    counts { total processed accepted rejected duplicates }
    timings { durationSeconds rowsPerSecond }
  }
}"""

FEATURES = """{
  __schema { queryType { fields { name } } mutationType { fields { name } } }
  person: __type(name: "Person") { fields { name } }
}"""


def encode_cursor(occurred_at: datetime, activity_id: int) -> str:
    """The baseline's opaque keyset cursor: base64url of `<occurred_at ISO>|<id>`."""
    return base64.urlsafe_b64encode(f"{occurred_at.isoformat()}|{activity_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    occurred, _, ident = base64.urlsafe_b64decode(cursor.encode()).decode().partition("|")
    return datetime.fromisoformat(occurred), int(ident)
