"""Whatever is posted, the answer is a success or a 4xx with a JSON body, never a 5xx
(Communication 3.2: an invalid statement is a 400, never a 422 or a 500)."""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import Xapi
from tests.support import make_statement

json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=15,
)

PATHS = [
    ("actor",),
    ("actor", "mbox"),
    ("actor", "objectType"),
    ("verb",),
    ("verb", "id"),
    ("verb", "display"),
    ("object",),
    ("object", "id"),
    ("object", "objectType"),
    ("object", "definition"),
    ("result",),
    ("result", "score"),
    ("context",),
    ("context", "registration"),
    ("context", "contextActivities"),
    ("timestamp",),
    ("id",),
    ("attachments",),
    ("version",),
    ("authority",),
]


def replaced(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    statement = copy.deepcopy(make_statement())
    node = statement
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return statement


OK = {200, 400, 409, 413}


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), value=json_values)
def test_a_statement_with_any_value_anywhere_never_causes_a_5xx(
    xapi: Xapi, path: tuple[str, ...], value: Any
) -> None:
    response = xapi.post("/statements", json=replaced(path, value))
    assert response.status_code in OK, response.text
    if response.status_code != 200:
        assert response.json()["error"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=json_values)
def test_any_json_body_never_causes_a_5xx(xapi: Xapi, body: Any) -> None:
    response = xapi.post("/statements", json=body)
    assert response.status_code in OK, response.text


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_any_bytes_never_cause_a_5xx(xapi: Xapi, raw: bytes) -> None:
    response = xapi.post("/statements", data=raw, headers={"Content-Type": "application/json"})
    assert response.status_code in OK, response.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    params=st.dictionaries(
        st.sampled_from(
            [
                "agent",
                "verb",
                "activity",
                "registration",
                "since",
                "until",
                "limit",
                "format",
                "ascending",
                "related_agents",
                "statementId",
                "more",
                "attachments",
            ]
        ),
        st.text(max_size=30),
        max_size=3,
    )
)
def test_any_query_parameters_never_cause_a_5xx(xapi: Xapi, params: dict[str, str]) -> None:
    response = xapi.get("/statements", params=params)
    assert response.status_code in {200, 400, 404}, response.text


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    raw=st.binary(max_size=300),
    boundary=st.text(alphabet="abcXYZ0123'()+_,-./:=?", min_size=1, max_size=20),
    with_statement=st.booleans(),
)
def test_any_multipart_body_never_causes_a_5xx(
    xapi: Xapi, raw: bytes, boundary: str, with_statement: bool
) -> None:
    delimiter = b"--" + boundary.encode()
    body = raw
    if with_statement:
        body = (
            delimiter
            + b"\r\nContent-Type: application/json\r\n\r\n"
            + json.dumps(make_statement()).encode()
            + b"\r\n"
            + delimiter
            + b"\r\n"
            + raw
            + b"\r\n"
            + delimiter
            + b"--\r\n"
        )
    response = xapi.post(
        "/statements",
        data=body,
        headers={"Content-Type": f'multipart/mixed; boundary="{boundary}"'},
    )
    assert response.status_code in OK, response.text
