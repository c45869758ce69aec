"""The data generator: deterministic, skewed, and valid for every type it generates."""

from __future__ import annotations

from collections import Counter

import orjson

from app.bench.datagen import EXAMPLE_TYPES, ActivityGenerator, generate_persons, zipf_cumulative
from app.domain.standard_types import STANDARD_TYPES
from app.domain.validation import ValidatedRecord, compile_validator


def test_same_seed_same_data_and_other_seed_other_data() -> None:
    persons = generate_persons(50, seed=3)
    assert persons == generate_persons(50, seed=3)
    assert persons != generate_persons(50, seed=4)
    first = list(ActivityGenerator(persons, seed=3).activities(200))
    assert first == list(ActivityGenerator(persons, seed=3).activities(200))
    assert first != list(ActivityGenerator(persons, seed=4).activities(200))


def test_persons_and_keys_are_unique() -> None:
    persons = generate_persons(500)
    assert len({p.email for p in persons}) == 500
    assert len({p.external_id for p in persons}) == 500
    keys = [a.idempotency_key for a in ActivityGenerator(persons, key_prefix="x").activities(1000)]
    assert len(set(keys)) == 1000
    other = {a.idempotency_key for a in ActivityGenerator(persons, key_prefix="y").activities(1000)}
    assert not other & set(keys)


def test_activity_counts_per_person_are_skewed() -> None:
    persons = generate_persons(1000)
    counts = Counter(a.person for a in ActivityGenerator(persons).activities(20_000))
    ordered = sorted(counts.values(), reverse=True)
    top_decile = sum(ordered[:100])
    assert top_decile > 0.5 * 20_000  # Zipf s=1 over 1000 persons: the top 10% hold ~70%
    assert ordered[0] > 50 * (ordered[len(ordered) // 2])
    assert zipf_cumulative(3) == [1.0, 1.5, 1.5 + 1 / 3]


def test_expected_share_matches_observed_for_the_heaviest_person() -> None:
    persons = generate_persons(200)
    generator = ActivityGenerator(persons)
    counts = Counter(a.person for a in generator.activities(50_000))
    heaviest, observed = counts.most_common(1)[0]
    assert abs(observed / 50_000 - generator.expected_share(heaviest)) < 0.02
    assert abs(sum(generator.expected_share(p.index) for p in persons) - 1.0) < 1e-9


def test_every_generated_activity_passes_the_real_validator() -> None:
    types = [*EXAMPLE_TYPES, *STANDARD_TYPES]
    validators = {t.api_name: compile_validator(t) for t in types}
    persons = generate_persons(20)
    seen = Counter()
    for activity in ActivityGenerator(persons, types, seed=11).activities(5000):
        result = validators[activity.activity_type].validate(activity.primary_value, activity.fields)
        assert isinstance(result, ValidatedRecord), (activity, result)
        seen[activity.activity_type] += 1
    assert set(seen) == {t.api_name for t in types}
    # The product's own story dominates: depositCheck and attendWebinar carry the weights they were given.
    assert seen["depositCheck"] > seen["attendWebinar"] > seen[STANDARD_TYPES[0].api_name]


def test_jsonl_line_has_the_documented_shape() -> None:
    persons = generate_persons(5)
    activity = next(ActivityGenerator(persons).activities(1))
    line = orjson.loads(activity.to_jsonl(persons))
    assert set(line) == {"activityType", "person", "occurredAt", "primaryValue", "fields", "idempotencyKey"}
    assert line["person"] == {"email": persons[activity.person].email}
    assert line["occurredAt"].endswith("Z")
