"""Statement comparison (Data 2.3.1): what may differ, and what may not."""

from __future__ import annotations

import copy
import random
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from portfolio.lrs.compare import statements_match

BASE: dict[str, Any] = {
    "id": "6690e6c9-3ef0-4ed3-8b37-7f3964730bee",
    "actor": {"objectType": "Agent", "name": "Ann", "mbox": "mailto:Ann@Example.org"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/completed", "display": {"en-GB": "completed"}},
    "object": {
        "id": "https://lms.example.org/course/1",
        "definition": {"name": {"en-GB": "Course"}},
    },
    "result": {"duration": "PT1H", "score": {"scaled": 0.5}, "success": True},
    "context": {
        "registration": "a0c1e1b6-4b1a-4f4e-9c1d-6f2a9b2f2a11",
        "team": {
            "objectType": "Group",
            "member": [
                {"mbox": "mailto:a@x.org"},
                {"mbox": "mailto:b@x.org"},
                {"mbox": "mailto:c@x.org"},
            ],
        },
        "contextActivities": {
            "parent": [{"id": "https://lms.example.org/p", "definition": {"type": "http://t"}}]
        },
    },
    "timestamp": "2026-03-01T12:00:00Z",
}


def shuffled(value: Any, rng: random.Random) -> Any:
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


@given(st.integers(min_value=0, max_value=2**32))
def test_key_order_never_matters(seed: int) -> None:
    assert statements_match(BASE, shuffled(BASE, random.Random(seed)))


@given(st.permutations([0, 1, 2]))
def test_group_member_order_never_matters(order: list[int]) -> None:
    other = copy.deepcopy(BASE)
    members = other["context"]["team"]["member"]
    other["context"]["team"]["member"] = [members[i] for i in order]
    assert statements_match(BASE, other)


def test_lrs_assigned_properties_and_definitions_are_ignored() -> None:
    other = copy.deepcopy(BASE)
    other.update(
        id="00000000-0000-4000-8000-000000000000",
        stored="2026-01-01T00:00:00Z",
        version="1.0.3",
        authority={"mbox": "mailto:lrs@x.org"},
    )
    other["verb"]["display"] = {"fr": "terminé"}
    other["object"]["definition"] = {"name": {"en-GB": "Renamed"}}
    other["context"]["contextActivities"]["parent"][0].pop("definition")
    other["timestamp"] = "2026-03-01T13:00:00+01:00"
    other["actor"]["mbox"] = "mailto:Ann@EXAMPLE.ORG"
    other["context"]["registration"] = other["context"]["registration"].upper()
    assert statements_match(BASE, other)


def test_a_timestamp_missing_on_one_side_is_ignored() -> None:
    other = copy.deepcopy(BASE)
    del other["timestamp"]
    assert statements_match(BASE, other)
    assert statements_match(other, BASE)


MUTATIONS = [
    ("result.duration", lambda s: s["result"].__setitem__("duration", "PT60M")),
    ("actor local part case", lambda s: s["actor"].__setitem__("mbox", "mailto:ann@Example.org")),
    ("actor name", lambda s: s["actor"].__setitem__("name", "Anne")),
    ("verb id", lambda s: s["verb"].__setitem__("id", "http://adlnet.gov/expapi/verbs/failed")),
    ("object id", lambda s: s["object"].__setitem__("id", "https://lms.example.org/course/2")),
    ("score", lambda s: s["result"]["score"].__setitem__("scaled", 0.6)),
    ("success", lambda s: s["result"].__setitem__("success", False)),
    ("timestamp instant", lambda s: s.__setitem__("timestamp", "2026-03-01T12:00:01Z")),
    ("team member", lambda s: s["context"]["team"]["member"].pop()),
    (
        "parent id",
        lambda s: s["context"]["contextActivities"]["parent"][0].__setitem__("id", "https://x"),
    ),
    ("new result field", lambda s: s["result"].__setitem__("completion", True)),
]


@given(st.sampled_from(MUTATIONS), st.integers(min_value=0, max_value=2**32))
def test_any_change_outside_the_exceptions_is_a_different_statement(
    mutation: Any, seed: int
) -> None:
    _name, mutate = mutation
    other = copy.deepcopy(BASE)
    mutate(other)
    assert not statements_match(BASE, shuffled(other, random.Random(seed)))


def test_a_missing_agent_object_type_means_agent_wherever_an_agent_stands() -> None:
    """Data 2.4.2.1: objectType is optional on an Agent, so stating it changes nothing,
    as for an Activity (Data 2.4.4.1)."""
    bare = copy.deepcopy(BASE)
    bare["actor"].pop("objectType")
    bare["context"]["instructor"] = {"mbox": "mailto:tutor@x.org"}
    bare["object"] = {"objectType": "Agent", "mbox": "mailto:bob@x.org"}
    explicit = copy.deepcopy(bare)
    explicit["actor"]["objectType"] = "Agent"
    explicit["context"]["instructor"]["objectType"] = "Agent"
    for member in explicit["context"]["team"]["member"]:
        member["objectType"] = "Agent"
    assert statements_match(bare, explicit)
    assert statements_match(explicit, bare)


def test_an_agent_is_not_the_same_as_a_group() -> None:
    group = copy.deepcopy(BASE)
    group["actor"] = {"objectType": "Group", "mbox": "mailto:Ann@Example.org", "name": "Ann"}
    assert not statements_match(BASE, group)
