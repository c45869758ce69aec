"""Deterministic, realistic data: persons, the product's example activity types and Zipf-skewed activities."""

from __future__ import annotations

import itertools
import random
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import orjson

from app.domain.activity_types import ActivityTypeDefinition, FieldDataType, FieldSpec

EPOCH = datetime(2026, 11, 1, tzinfo=UTC)  # fixed, so a seed always gives the same rows
SPAN_SECONDS = 365 * 24 * 3600

FIRST_NAMES = ("Ann", "Bob", "Chen", "Dana", "Emeka", "Fatima", "Goran", "Hana", "Ines", "Jonas", "Kofi", "Lena",
               "Mateo", "Nora", "Omar", "Priya", "Quinn", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wei", "Yara")
LAST_NAMES = ("Smith", "Garcia", "Okafor", "Novak", "Tanaka", "Müller", "Rossi", "Kowalski", "Haddad", "Silva",
              "Nguyen", "Johansson", "Ivanova", "Dubois", "Patel", "O'Brien")
BRANCHES = ("Main St branch", "Harbor Plaza branch", "Airport branch", "University branch", "Old Town branch",
            "Riverside branch", "Mobile deposit")
WEBINARS = ("Retirement planning 101", "Mortgages explained", "Small business cash flow", "Investing basics",
            "Fraud prevention", "Budgeting for families", "Crypto: risks and rules")
CURRENCIES = ("USD", "EUR", "GBP", "CAD")
WORDS = ("alpha", "bravo", "delta", "echo", "lima", "oscar", "sierra", "tango", "zulu", "nova", "orbit", "pixel")


def _field(api_name: str, name: str, data_type: FieldDataType, **kw: Any) -> FieldSpec:
    return FieldSpec(api_name=api_name, name=name, data_type=data_type, **kw)


DEPOSIT_CHECK = ActivityTypeDefinition(
    api_name="depositCheck",
    name="Deposit Check",
    trigger_name="Deposits a check",
    filter_name="Deposited a check",
    description="A person deposited a paper check at a branch or by mobile deposit.",
    primary_field=_field("branch", "Branch", FieldDataType.STRING, description="Where the check was deposited."),
    fields=(
        _field("amount", "Amount", FieldDataType.CURRENCY, required=True, min_value=0, description="Check amount."),
        _field("currency", "Currency", FieldDataType.STRING, required=True, allowed_values=CURRENCIES,
               description="ISO 4217 code of the amount."),
        _field("checkNumber", "Check number", FieldDataType.INTEGER, min_value=1, description="Number on the check."),
    ),
)
ATTEND_WEBINAR = ActivityTypeDefinition(
    api_name="attendWebinar",
    name="Attend Webinar",
    trigger_name="Attends a webinar",
    filter_name="Attended a webinar",
    description="A person attended (part of) a live or recorded webinar.",
    primary_field=_field("webinarName", "Webinar name", FieldDataType.STRING, description="The webinar's title."),
    fields=(
        _field("durationMinutes", "Duration (minutes)", FieldDataType.INTEGER, required=True, min_value=0,
               max_value=600, description="Minutes the person stayed."),
        _field("recorded", "Recorded", FieldDataType.BOOLEAN, description="Watched the recording, not live."),
        _field("joinUrl", "Join URL", FieldDataType.LINK, description="Link the person used."),
    ),
)
EXAMPLE_TYPES: tuple[ActivityTypeDefinition, ...] = (DEPOSIT_CHECK, ATTEND_WEBINAR)
# Share of rows per custom type; standard (system) types share what is left.
EXAMPLE_WEIGHTS = {"depositCheck": 0.35, "attendWebinar": 0.25}


@dataclass(frozen=True, slots=True)
class PersonSeed:
    """One generated person; `index` is its position in the generated list (0-based)."""

    index: int
    email: str
    external_id: str
    first_name: str
    last_name: str


@dataclass(frozen=True, slots=True)
class GeneratedActivity:
    """One generated activity, valid for its type by construction."""

    person: int  # index into the persons list
    activity_type: str
    occurred_at: datetime
    primary_value: Any
    fields: dict[str, Any]
    idempotency_key: str

    def to_input(self, persons: Sequence[PersonSeed]) -> dict[str, Any]:
        """The activity as the API takes it (inline input or one JSONL line), person by email."""
        return {
            "activityType": self.activity_type,
            "person": {"email": persons[self.person].email},
            "occurredAt": self.occurred_at.isoformat().replace("+00:00", "Z"),
            "primaryValue": self.primary_value,
            "fields": self.fields,
            "idempotencyKey": self.idempotency_key,
        }

    def to_jsonl(self, persons: Sequence[PersonSeed]) -> bytes:
        return orjson.dumps(self.to_input(persons)) + b"\n"


def generate_persons(count: int, seed: int = 1) -> list[PersonSeed]:
    """`count` persons with unique emails and external ids; the same seed gives the same persons."""
    rng = random.Random(f"persons-{seed}")
    persons = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        local = f"{first}.{last}".lower().replace("'", "").replace("ü", "ue")
        persons.append(PersonSeed(i, f"{local}.{i}@example.com", f"crm-{seed}-{i:07d}", first, last))
    return persons


def zipf_cumulative(count: int, exponent: float = 1.0) -> list[float]:
    """Cumulative weights 1/(rank+1)^s: a few persons have most activities, most have a handful."""
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(count)))


class ActivityGenerator:
    """Streams activities for `persons` over `types`; deterministic for a given seed and key prefix."""

    def __init__(
        self,
        persons: Sequence[PersonSeed],
        types: Sequence[ActivityTypeDefinition] = EXAMPLE_TYPES,
        *,
        seed: int = 1,
        exponent: float = 1.0,
        key_prefix: str = "gen",
    ) -> None:
        if not persons or not types:
            raise ValueError("need at least one person and one activity type")
        self.persons = persons
        self.types = list(types)
        self.seed = seed
        self.key_prefix = key_prefix
        self._cum_person = zipf_cumulative(len(persons), exponent)
        # Which person holds which Zipf rank is shuffled, so person 0 is not always the heaviest.
        self._rank_to_person = list(range(len(persons)))
        random.Random(f"ranks-{seed}").shuffle(self._rank_to_person)
        self._cum_type = list(itertools.accumulate(_type_weights(self.types)))

    def expected_share(self, person_index: int) -> float:
        """The fraction of all activities person `person_index` receives on average."""
        rank = self._rank_to_person.index(person_index)
        low = self._cum_person[rank - 1] if rank else 0.0
        return (self._cum_person[rank] - low) / self._cum_person[-1]

    def activities(self, count: int) -> Iterator[GeneratedActivity]:
        rng = random.Random(f"activities-{self.seed}-{self.key_prefix}")
        total_p, total_t = self._cum_person[-1], self._cum_type[-1]
        for n in range(count):
            rank = bisect_left(self._cum_person, rng.random() * total_p)
            definition = self.types[bisect_left(self._cum_type, rng.random() * total_t)]
            occurred = EPOCH - timedelta(seconds=rng.randrange(SPAN_SECONDS), microseconds=rng.randrange(1000) * 1000)
            yield GeneratedActivity(
                person=self._rank_to_person[min(rank, len(self._rank_to_person) - 1)],
                activity_type=definition.api_name,
                occurred_at=occurred,
                primary_value=field_value(definition.primary_field, rng),
                fields={f.api_name: field_value(f, rng) for f in definition.fields if f.required or rng.random() < 0.8},
                idempotency_key=f"{self.key_prefix}-{self.seed}-{n}",
            )


def _type_weights(types: Sequence[ActivityTypeDefinition]) -> list[float]:
    custom = sum(EXAMPLE_WEIGHTS.get(t.api_name, 0.0) for t in types)
    others = [t for t in types if t.api_name not in EXAMPLE_WEIGHTS]
    rest = max(1.0 - custom, 0.1) / len(others) if others else 0.0
    return [EXAMPLE_WEIGHTS.get(t.api_name, rest) for t in types]


_NAMED_POOLS: dict[str, Sequence[str]] = {
    "branch": BRANCHES,
    "webinarName": WEBINARS,
    "currency": CURRENCIES,
}


def field_value(spec: FieldSpec, rng: random.Random) -> Any:
    """A plausible valid value for `spec`: story values for known fields, typed values otherwise."""
    if spec.allowed_values:
        return rng.choice(spec.allowed_values)
    pool = _NAMED_POOLS.get(spec.api_name)
    if pool is not None and spec.data_type in (FieldDataType.STRING, FieldDataType.TEXT):
        return rng.choice(pool)
    return _typed_value(spec, rng)


def _typed_value(spec: FieldSpec, rng: random.Random) -> Any:
    kind = spec.data_type
    if kind in (FieldDataType.STRING, FieldDataType.TEXT):
        words = rng.randint(1, 3) if kind is FieldDataType.STRING else rng.randint(5, 20)
        text = " ".join(rng.choice(WORDS) for _ in range(words))
        return text[: spec.max_length] if spec.max_length else text
    if kind is FieldDataType.BOOLEAN:
        return rng.random() < 0.5
    if kind is FieldDataType.INTEGER:
        low = int(spec.min_value) if spec.min_value is not None else 0
        high = int(spec.max_value) if spec.max_value is not None else max(low, 0) + 10_000
        return rng.randint(low, high)
    if kind in (FieldDataType.FLOAT, FieldDataType.CURRENCY):
        lo = float(spec.min_value) if spec.min_value is not None else 0.0
        hi = float(spec.max_value) if spec.max_value is not None else lo + 5000.0
        return round(rng.uniform(lo, hi), 2)
    if kind is FieldDataType.DATE:
        return (date(2026, 11, 1) - timedelta(days=rng.randrange(365))).isoformat()
    if kind is FieldDataType.DATETIME:
        return (EPOCH - timedelta(seconds=rng.randrange(SPAN_SECONDS))).isoformat().replace("+00:00", "Z")
    if kind is FieldDataType.EMAIL:
        return f"{rng.choice(WORDS)}.{rng.randrange(10_000)}@example.com"
    if kind is FieldDataType.PHONE:
        return f"+1 555 01{rng.randrange(100):02d} {rng.randrange(10_000):04d}"
    return f"https://example.com/{rng.choice(WORDS)}/{rng.randrange(100_000)}"  # LINK
