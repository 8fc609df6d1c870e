"""Properties of statement validation, over generated statements of both grammars.

* Every generated valid statement passes, and validation leaves it unchanged.
* Replacing any one value (outside extensions) with a value of a wrong JSON type fails, at
  the path of that value (at the language map's path for a language map entry).
* Adding one unknown property to any object (outside extensions) fails, at that property
  (at the language map's path when the object is a language map).
"""

from __future__ import annotations

import copy
import string
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.errors import SchemaViolation
from schemas.xapi import validate_statement
from schemas.xapi.activity import COMPONENT_LISTS, INTERACTION_TYPES

VERSIONS = ["1.0.3", "2.0.0"]
LANGUAGE_MAP_KEYS = frozenset({"display", "name", "description"})
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

Json = Any
Path = tuple[str | int, ...]

# --- Primitive values -------------------------------------------------------------------

_letters = st.characters(categories=["L", "Nd"])
_segments = st.text(alphabet=_letters | st.sampled_from("-._~"), min_size=1, max_size=8)
_ascii_words = st.text(alphabet=string.ascii_lowercase + string.digits, min_size=1, max_size=8)
_hosts = st.builds("{}.{}".format, _ascii_words, st.sampled_from(["org", "com", "example"]))
_irls = st.builds(
    lambda scheme, host, parts: f"{scheme}://{host}/" + "/".join(parts),
    st.sampled_from(["http", "https"]),
    _hosts,
    st.lists(_segments, max_size=3),
)
_iris = _irls | st.builds("urn:{}:{}".format, _ascii_words, _segments)
_uuids = st.uuids().map(str)
_tags = st.sampled_from(["en", "en-US", "en-GB", "de-CH-1901", "zh-Hant", "x-private", "tlh"])
_texts = st.text(max_size=12)
_language_maps = st.dictionaries(_tags, _texts, min_size=1, max_size=3)
_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _texts,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
_extensions = st.dictionaries(_iris, _json_values, max_size=3)
_mboxes = st.builds(
    "mailto:{}@{}".format,
    st.text(alphabet=string.ascii_letters + string.digits + ".+_-", min_size=1, max_size=10),
    _hosts,
)
_sha1s = st.text(alphabet="0123456789abcdef", min_size=40, max_size=40)
_openids = st.builds("https://{}/{}".format, _hosts, _ascii_words)
_accounts = st.fixed_dictionaries({"homePage": _irls, "name": _texts})
_offsets = st.sampled_from(
    [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
)
_aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1), timezones=_offsets
)
_naive_datetimes = st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1))


def _timestamps(version: str) -> st.SearchStrategy[str]:
    aware = _aware_datetimes.map(lambda moment: moment.isoformat().replace("+00:00", "Z"))
    if version == "2.0.0":
        return aware
    return aware | _naive_datetimes.map(lambda moment: moment.isoformat(timespec="milliseconds"))


@st.composite
def _durations(draw: st.DrawFn) -> str:
    if draw(st.booleans()):
        return f"P{draw(st.integers(0, 99))}W"
    numbers = st.none() | st.integers(0, 9999)
    years, months, days, hours, minutes = (draw(numbers) for _ in range(5))
    seconds = draw(st.none() | st.decimals(0, 9999, places=2).map(str))
    date = "".join(
        f"{n}{unit}" for n, unit in ((years, "Y"), (months, "M"), (days, "D")) if n is not None
    )
    time = "".join(
        f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (seconds, "S")) if n is not None
    )
    if not date and not time:
        date = "0D"
    return f"P{date}" + (f"T{time}" if time else "")


# --- Agents and Groups -----------------------------------------------------------------

_IFIS = {"mbox": _mboxes, "mbox_sha1sum": _sha1s, "openid": _openids, "account": _accounts}


@st.composite
def _agents(draw: st.DrawFn, *, object_type: bool | None = None) -> dict[str, Json]:
    ifi = draw(st.sampled_from(sorted(_IFIS)))
    agent = {ifi: draw(_IFIS[ifi])}
    if draw(st.booleans()):
        agent["name"] = draw(_texts)
    if object_type or (object_type is None and draw(st.booleans())):
        agent["objectType"] = "Agent"
    return agent


@st.composite
def _groups(draw: st.DrawFn) -> dict[str, Json]:
    group: dict[str, Json] = {"objectType": "Group"}
    if draw(st.booleans()):
        ifi = draw(st.sampled_from(sorted(_IFIS)))
        group[ifi] = draw(_IFIS[ifi])
        if draw(st.booleans()):
            group["member"] = draw(st.lists(_agents(), max_size=2))
    else:
        group["member"] = draw(st.lists(_agents(), min_size=1, max_size=3))
    if draw(st.booleans()):
        group["name"] = draw(_texts)
    return group


_actors = _agents() | _groups()

# --- Activities --------------------------------------------------------------------------


@st.composite
def _definitions(draw: st.DrawFn) -> dict[str, Json]:
    definition = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "name": _language_maps,
                "description": _language_maps,
                "type": _iris,
                "moreInfo": _irls,
                "extensions": _extensions,
            },
        )
    )
    if draw(st.integers(0, 2)):
        interaction_type = draw(st.sampled_from(INTERACTION_TYPES))
        definition["interactionType"] = interaction_type
        if draw(st.booleans()):
            definition["correctResponsesPattern"] = draw(st.lists(_texts, max_size=3))
        for key in sorted(COMPONENT_LISTS.get(interaction_type, ())):
            if draw(st.booleans()):
                ids = draw(st.lists(_ascii_words, unique=True, max_size=4))
                definition[key] = [
                    {"id": component_id, "description": draw(_language_maps)}
                    if draw(st.booleans())
                    else {"id": component_id}
                    for component_id in ids
                ]
    return definition


@st.composite
def _activities(draw: st.DrawFn) -> dict[str, Json]:
    activity: dict[str, Json] = {"id": draw(_iris)}
    if draw(st.booleans()):
        activity["objectType"] = "Activity"
    if draw(st.booleans()):
        activity["definition"] = draw(_definitions())
    return activity


_verbs = st.fixed_dictionaries({"id": _iris}, optional={"display": _language_maps})
_statement_refs = st.fixed_dictionaries({"objectType": st.just("StatementRef"), "id": _uuids})

# --- Result, context, attachments --------------------------------------------------------


@st.composite
def _scores(draw: st.DrawFn) -> dict[str, Json]:
    score: dict[str, Json] = {}
    if draw(st.booleans()):
        score["scaled"] = draw(st.floats(-1, 1) | st.sampled_from([-1, 0, 1]))
    low = draw(st.none() | st.integers(-100, 100))
    high = draw(st.none() | st.integers(101, 1000))
    if low is not None:
        score["min"] = low
    if high is not None:
        score["max"] = high
    if draw(st.booleans()):
        score["raw"] = draw(
            st.floats(
                -1e6 if low is None else low,
                1e6 if high is None else high,
                allow_nan=False,
            )
        )
    return score


_results = st.fixed_dictionaries(
    {},
    optional={
        "score": _scores(),
        "success": st.booleans(),
        "completion": st.booleans(),
        "response": _texts,
        "duration": _durations(),
        "extensions": _extensions,
    },
)
_activity_values = _activities() | st.lists(_activities(), max_size=2)
_context_activities = st.fixed_dictionaries(
    {},
    optional={
        "parent": _activity_values,
        "grouping": _activity_values,
        "category": _activity_values,
        "other": _activity_values,
    },
)
_context_agents = st.fixed_dictionaries(
    {"objectType": st.just("contextAgent"), "agent": _agents()},
    optional={"relevantTypes": st.lists(_iris, min_size=1, max_size=2)},
)
_context_groups = st.fixed_dictionaries(
    {"objectType": st.just("contextGroup"), "group": _groups()},
    optional={"relevantTypes": st.lists(_iris, min_size=1, max_size=2)},
)


def _contexts(*, version: str, object_is_activity: bool) -> st.SearchStrategy[dict[str, Json]]:
    optional: dict[str, st.SearchStrategy[Json]] = {
        "registration": _uuids,
        "instructor": _actors,
        "team": _groups(),
        "contextActivities": _context_activities,
        "language": _tags,
        "statement": _statement_refs,
        "extensions": _extensions,
    }
    if object_is_activity:
        optional |= {"revision": _texts, "platform": _texts}
    if version == "2.0.0":
        optional |= {
            "contextAgents": st.lists(_context_agents, max_size=2),
            "contextGroups": st.lists(_context_groups, max_size=2),
        }
    return st.fixed_dictionaries({}, optional=optional)


_attachments = st.fixed_dictionaries(
    {
        "usageType": _iris,
        "display": _language_maps,
        "contentType": st.sampled_from(["text/plain", "application/pdf", "image/png"]),
        "length": st.integers(0, 2**40),
        "sha2": st.text(alphabet="0123456789abcdef", min_size=64, max_size=64),
    },
    optional={"description": _language_maps, "fileUrl": _irls},
)

# --- Statements --------------------------------------------------------------------------


@st.composite
def _statement_bodies(draw: st.DrawFn, *, version: str, sub: bool) -> dict[str, Json]:
    """Actor, verb, object and the optional properties a SubStatement shares."""
    choices = [_activities(), _agents(object_type=True), _groups(), _statement_refs]
    if not sub:
        choices.append(_statement_bodies(version=version, sub=True))
    statement_object = draw(st.one_of(choices))
    body: dict[str, Json] = {
        "actor": draw(_actors),
        "verb": draw(_verbs),
        "object": statement_object,
    }
    object_is_activity = statement_object.get("objectType", "Activity") == "Activity"
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "result": _results,
                "context": _contexts(version=version, object_is_activity=object_is_activity),
                "timestamp": _timestamps(version),
                "attachments": st.lists(_attachments, max_size=2),
            },
        )
    )
    body.update(optional)
    if sub:
        body["objectType"] = "SubStatement"
    return body


@st.composite
def statements(draw: st.DrawFn, *, version: str) -> dict[str, Json]:
    """A valid statement of the grammar of ``version``."""
    statement = draw(_statement_bodies(version=version, sub=False))
    versions = ["1.0.0", "1.0.3"] + (["2.0.0"] if version == "2.0.0" else [])
    optional = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "id": _uuids,
                "stored": _timestamps(version),
                "authority": _agents(),
                "version": st.sampled_from(versions),
            },
        )
    )
    statement.update(optional)
    return statement


# --- Walking a statement -----------------------------------------------------------------


def _format(path: Path) -> str:
    text = ""
    for key in path:
        text = f"{text}[{key}]" if isinstance(key, int) else (f"{text}.{key}" if text else key)
    return text


def _values(value: Json, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every value below the root, with the path a violation there must report."""
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        child_path = (*path, key)
        yield child_path, _format(child_path)
        if key == "extensions":
            continue  # anything goes inside extensions
        if key in LANGUAGE_MAP_KEYS and isinstance(child, dict):
            for tag in child:
                yield (*child_path, tag), _format(child_path)
        elif isinstance(child, dict | list):
            yield from _values(child, child_path)


def _objects(value: Json, path: Path = ()) -> Iterator[tuple[Path, str | None]]:
    """Every object (root included) outside extensions; language maps marked by their path."""
    if isinstance(value, dict):
        yield path, None
    items = value.items() if isinstance(value, dict) else enumerate(value)
    for key, child in items:
        child_path = (*path, key)
        if key == "extensions":
            continue
        if key in LANGUAGE_MAP_KEYS and isinstance(child, dict):
            yield child_path, _format(child_path)
        elif isinstance(child, dict | list):
            yield from _objects(child, child_path)


def _at(document: Json, path: Path) -> Json:
    for key in path:
        document = document[key]
    return document


def _wrong_type(value: Json) -> Json:
    """A JSON value of a type that no property accepting ``value`` accepts."""
    if isinstance(value, bool):
        return "true"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return 12345
    return "an object or array was expected"


@pytest.mark.parametrize("version", VERSIONS)
@SETTINGS
@given(data=st.data())
def test_generated_valid_statements_pass_unchanged(version: str, data: st.DataObject) -> None:
    statement = data.draw(statements(version=version))
    before = copy.deepcopy(statement)
    validate_statement(statement, version=version)
    assert statement == before


@pytest.mark.parametrize("version", VERSIONS)
@SETTINGS
@given(data=st.data())
def test_a_value_of_the_wrong_type_fails_at_its_path(version: str, data: st.DataObject) -> None:
    """Data 2.2.s4.b1: strings are not numbers or booleans, objects are not strings...

    Every value of the generated statement is replaced in turn (and then restored).
    """
    statement = data.draw(statements(version=version))
    for path, expected in list(_values(statement)):
        parent = _at(statement, path[:-1])
        original = parent[path[-1]]
        parent[path[-1]] = _wrong_type(original)
        with pytest.raises(SchemaViolation) as info:
            validate_statement(statement, version=version)
        assert info.value.path == expected, _format(path)
        parent[path[-1]] = original


@pytest.mark.parametrize("version", VERSIONS)
@SETTINGS
@given(data=st.data())
def test_an_unknown_property_fails_at_its_path(version: str, data: st.DataObject) -> None:
    """Data 2.2.s4.b1.b7: a key not allowed by the specification is rejected.

    An unknown property is added to every object of the generated statement in turn.
    """
    statement = data.draw(statements(version=version))
    value = data.draw(_json_values)
    for path, language_map in list(_objects(statement)):
        target = _at(statement, path)
        target["unknownProperty"] = value
        with pytest.raises(SchemaViolation) as info:
            validate_statement(statement, version=version)
        if language_map is None:
            assert info.value.path == _format((*path, "unknownProperty"))
            assert info.value.rule == "is not allowed (unknown property)"
        else:
            assert info.value.path == language_map
            assert "'unknownProperty'" in info.value.rule
        del target["unknownProperty"]
