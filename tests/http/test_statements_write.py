"""PUT and POST /xapi/statements over real HTTP (Communication 2.1.1, 2.1.2; Data 2.3, 2.4)."""

from __future__ import annotations

import copy
import json
import uuid
from datetime import UTC, datetime

import pytest

from schemas.xapi.primitives import YEAR_RANGE_RULE
from tests.conftest import Xapi
from tests.support import agent, make_statement


def get_one(xapi: Xapi, statement_id: str) -> dict:  # type: ignore[type-arg]
    response = xapi.get("/statements", params={"statementId": statement_id})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def count(xapi: Xapi) -> int:
    return len(xapi.get("/statements", params={"limit": 0}).json()["statements"])


# ------------------------------------------------------------------------- PUT


def test_statements_put_stores_under_the_given_id_and_answers_204(xapi: Xapi) -> None:
    statement = make_statement(with_id=False)
    sid = str(uuid.uuid4())
    response = xapi.put("/statements", params={"statementId": sid}, json=statement)
    assert response.status_code == 204
    assert response.content == b""
    assert get_one(xapi, sid)["id"] == sid


def test_statements_put_without_statement_id_is_400(xapi: Xapi) -> None:
    response = xapi.put("/statements", json=make_statement())
    assert response.status_code == 400
    assert response.json()["path"] == "statementId"


def test_statements_put_with_a_malformed_statement_id_is_400(xapi: Xapi) -> None:
    response = xapi.put("/statements", params={"statementId": "not-a-uuid"}, json=make_statement())
    assert response.status_code == 400
    assert response.json()["path"] == "statementId"


def test_statements_put_id_differing_from_statement_id_is_400(xapi: Xapi) -> None:
    """Communication 2.1.1.s3.b3: the id in the body must match statementId."""
    statement = make_statement()
    response = xapi.put("/statements", params={"statementId": str(uuid.uuid4())}, json=statement)
    assert response.status_code == 400
    assert response.json()["path"] == "id"
    assert count(xapi) == 0


def test_statements_put_with_statement_id_given_twice_is_400(xapi: Xapi) -> None:
    """A repeated parameter is refused, as on the document resources, not half ignored."""
    first, second = str(uuid.uuid4()), str(uuid.uuid4())
    response = xapi.put(
        "/statements",
        params=[("statementId", first), ("statementId", second)],
        json=make_statement(with_id=False),
    )
    assert response.status_code == 400
    assert (response.json()["path"], response.json()["rule"]) == (
        "statementId",
        "must be given once",
    )
    statement = make_statement(with_id=False)
    response = xapi.put(
        "/statements", params=[("statementId", first), ("statementId", first)], json=statement
    )
    assert response.status_code == 400
    assert xapi.get("/statements", params={"statementId": first}).status_code == 404


def test_statements_put_of_an_array_is_400(xapi: Xapi) -> None:
    response = xapi.put(
        "/statements", params={"statementId": str(uuid.uuid4())}, json=[make_statement()]
    )
    assert response.status_code == 400


def test_statements_put_same_id_same_content_is_204_and_changes_nothing(xapi: Xapi) -> None:
    """Communication 2.1.1.s2.b2: receiving a known id never modifies anything."""
    statement = make_statement()
    assert (
        xapi.put("/statements", params={"statementId": statement["id"]}, json=statement).status_code
        == 204
    )
    before = get_one(xapi, statement["id"])
    again = xapi.put("/statements", params={"statementId": statement["id"]}, json=statement)
    assert again.status_code == 204
    assert get_one(xapi, statement["id"]) == before


def test_statements_put_same_id_different_content_is_409(xapi: Xapi) -> None:
    """Communication 2.1.1.s2.b3 and Data 2.3.1 (Statement comparison)."""
    statement = make_statement()
    xapi.put("/statements", params={"statementId": statement["id"]}, json=statement)
    changed = copy.deepcopy(statement)
    changed["actor"] = agent("bob")
    response = xapi.put("/statements", params={"statementId": statement["id"]}, json=changed)
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"
    assert get_one(xapi, statement["id"])["actor"]["mbox"] == "mailto:ann@example.org"


# ------------------------------------------------------------------------ POST


def test_statements_post_single_returns_its_id_in_an_array(xapi: Xapi) -> None:
    statement = make_statement()
    response = xapi.post("/statements", json=statement)
    assert response.status_code == 200
    assert response.json() == [statement["id"]]


def test_statements_post_batch_returns_ids_in_order_assigning_missing_ones(xapi: Xapi) -> None:
    given = make_statement()
    batch = [make_statement(with_id=False), given, make_statement(with_id=False)]
    response = xapi.post("/statements", json=batch)
    assert response.status_code == 200
    ids = response.json()
    assert len(ids) == 3 and ids[1] == given["id"]
    for sid in ids:
        assert uuid.UUID(sid)
        assert get_one(xapi, sid)["id"] == sid


def test_statements_post_batch_with_one_invalid_statement_stores_nothing(xapi: Xapi) -> None:
    """Communication 3.2.s3.b9: a batch is rejected whole."""
    bad = make_statement()
    bad["actor"] = {"mbox": "ann@example.org"}  # no mailto:
    response = xapi.post("/statements", json=[make_statement(), bad])
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid statement"
    assert body["path"] == "[1].actor.mbox"
    assert count(xapi) == 0


def test_statements_post_batch_with_duplicate_ids_is_400(xapi: Xapi) -> None:
    """Communication 2.1.2.s2.b6."""
    statement = make_statement()
    response = xapi.post("/statements", json=[statement, statement])
    assert response.status_code == 400
    assert response.json()["path"] == "[1].id"
    assert count(xapi) == 0


def test_statements_post_of_an_identical_statement_is_a_noop_success(xapi: Xapi) -> None:
    statement = make_statement()
    xapi.post("/statements", json=statement)
    stored = get_one(xapi, statement["id"])["stored"]
    again = xapi.post("/statements", json=statement)
    assert again.status_code == 200
    assert again.json() == [statement["id"]]
    assert get_one(xapi, statement["id"])["stored"] == stored
    assert count(xapi) == 1


def test_statements_post_conflict_in_a_batch_stores_none_of_it(xapi: Xapi) -> None:
    statement = make_statement()
    xapi.post("/statements", json=statement)
    changed = copy.deepcopy(statement)
    changed["verb"]["id"] = "http://adlnet.gov/expapi/verbs/failed"
    fresh = make_statement()
    response = xapi.post("/statements", json=[fresh, changed])
    assert response.status_code == 409
    assert xapi.get("/statements", params={"statementId": fresh["id"]}).status_code == 404


def test_statement_comparison_ignores_what_the_spec_allows_to_differ(xapi: Xapi) -> None:
    """Data 2.3.1: key order, Verb display, Activity definitions, timestamp serialisation,
    Group member order, e-mail domain case and LRS-set properties do not make a conflict."""
    statement = make_statement(
        timestamp="2026-03-01T12:00:00Z",
        context={
            "team": {"objectType": "Group", "member": [agent("ann"), agent("bob")]},
            "registration": "a0c1e1b6-4b1a-4f4e-9c1d-6f2a9b2f2a11",
        },
    )
    assert xapi.post("/statements", json=statement).status_code == 200
    variant = {key: copy.deepcopy(statement[key]) for key in reversed(list(statement))}
    variant["verb"]["display"] = {"en-US": "finished"}
    variant["object"]["definition"] = {"name": {"en-US": "Another title"}}
    variant["timestamp"] = "2026-03-01T13:00:00+01:00"
    variant["context"]["team"]["member"].reverse()
    variant["context"]["registration"] = variant["context"]["registration"].upper()
    variant["actor"]["mbox"] = "mailto:ann@EXAMPLE.ORG"
    variant["authority"] = agent("someone-else")
    variant["version"] = "1.0.0"
    assert xapi.post("/statements", json=variant).status_code == 200


def test_an_explicit_agent_object_type_is_the_same_statement(xapi: Xapi) -> None:
    """Data 2.4.2.1: an Agent's objectType is optional and defaults to Agent, as an
    Activity's does; adding it on a re-send is no conflict."""
    statement = make_statement(
        context={"instructor": {"mbox": "mailto:tutor@example.org"}},
        object={"mbox": "mailto:bob@example.org", "objectType": "Agent"},
    )
    del statement["actor"]["objectType"]
    assert xapi.post("/statements", json=statement).status_code == 200
    resent = copy.deepcopy(statement)
    resent["actor"]["objectType"] = "Agent"
    resent["context"]["instructor"]["objectType"] = "Agent"
    assert xapi.post("/statements", json=resent).status_code == 200
    changed = copy.deepcopy(resent)
    changed["actor"]["objectType"] = "Group"
    changed["actor"]["member"] = [agent("bob")]
    assert xapi.post("/statements", json=changed).status_code == 409


def test_statement_comparison_treats_result_duration_as_a_string(xapi: Xapi) -> None:
    """Data 2.3.1.b8: PT1H and PT60M are different statements."""
    statement = make_statement(result={"duration": "PT1H"})
    xapi.post("/statements", json=statement)
    changed = copy.deepcopy(statement)
    changed["result"]["duration"] = "PT60M"
    assert xapi.post("/statements", json=changed).status_code == 409


# ------------------------------------------------------- what the LRS sets itself


def test_lrs_sets_stored_timestamp_version_and_authority(
    xapi: Xapi, credentials: tuple[str, str]
) -> None:
    """Data 2.4.7-2.4.10: stored always, timestamp = stored when missing, version 1.0.0,
    authority from the credentials (overwriting what was sent)."""
    statement = make_statement(authority=agent("impostor"), stored="2000-01-01T00:00:00Z")
    before = datetime.now(UTC)
    xapi.post("/statements", json=statement)
    got = get_one(xapi, statement["id"])
    stored = datetime.fromisoformat(got["stored"].replace("Z", "+00:00"))
    assert abs((stored - before).total_seconds()) < 30
    assert got["timestamp"] == got["stored"]
    assert got["version"] == "1.0.0"
    assert got["authority"] == {
        "objectType": "Agent",
        "name": "Test LMS",
        "account": {"homePage": "http://lrs.test", "name": credentials[0]},
    }


def test_lrs_keeps_the_version_sent_and_returns_the_timestamp_in_utc(xapi: Xapi) -> None:
    """Data 4.5.s1.b6: timestamps are returned in UTC, precision kept."""
    statement = make_statement(timestamp="2026-03-01T12:00:00.123456+01:00", version="1.0.3")
    xapi.post("/statements", json=statement)
    got = get_one(xapi, statement["id"])
    assert got["timestamp"] == "2026-03-01T11:00:00.123456Z"
    assert got["version"] == "1.0.3"


def test_years_before_1000_come_back_with_four_digits(xapi: Xapi) -> None:
    """Data 4.5: an ISO 8601 year has four digits; what the LRS returns it must accept."""
    statement = make_statement(timestamp="0999-05-01T10:00:00+02:00")
    assert xapi.post("/statements", json=statement).status_code == 200
    got = get_one(xapi, statement["id"])
    assert got["timestamp"] == "0999-05-01T08:00:00Z"
    again = {key: value for key, value in got.items() if key not in ("id", "stored")}
    assert xapi.post("/statements", json=again).status_code == 200


@pytest.mark.parametrize(
    "timestamp",
    ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00+05:00"],
)
@pytest.mark.parametrize("version", ["1.0.3", "2.0.0"])
def test_timestamps_outside_the_years_0001_to_9999_in_utc_are_400_not_500(
    xapi: Xapi, timestamp: str, version: str
) -> None:
    """The LRS keeps timestamps in UTC (Data 4.5.s1.b6), where these have no year 0001-9999."""
    headers = {"X-Experience-API-Version": version}
    top = make_statement(timestamp=timestamp)
    nested = make_statement(
        object={
            "objectType": "SubStatement",
            "actor": agent("bob"),
            "verb": {"id": "http://adlnet.gov/expapi/verbs/attempted"},
            "object": {"id": "https://lms.example.org/course/1"},
            "timestamp": timestamp,
        }
    )
    for statement, path in ((top, "timestamp"), (nested, "object.timestamp")):
        response = xapi.post("/statements", json=statement, headers=headers)
        assert response.status_code == 400, response.text
        assert (response.json()["path"], response.json()["rule"]) == (path, YEAR_RANGE_RULE)


def test_single_context_activity_objects_are_returned_as_arrays(xapi: Xapi) -> None:
    """Data 2.4.6.2: contextActivities values are always returned as arrays."""
    statement = make_statement(
        context={"contextActivities": {"parent": {"id": "https://lms.example.org/programme"}}}
    )
    xapi.post("/statements", json=statement)
    got = get_one(xapi, statement["id"])
    assert got["context"]["contextActivities"]["parent"] == [
        {"id": "https://lms.example.org/programme"}
    ]


def test_statement_ids_are_matched_case_insensitively(xapi: Xapi) -> None:
    statement = make_statement()
    statement["id"] = statement["id"].upper()
    assert xapi.post("/statements", json=statement).json() == [statement["id"].lower()]
    assert get_one(xapi, statement["id"].lower())["id"] == statement["id"].lower()


def test_extension_keys_full_of_dots_and_dollars_are_kept_exactly(xapi: Xapi) -> None:
    extensions = {"http://example.org/ext/$weird.key": {"$set": {"a.b": 1}}}
    statement = make_statement(result={"extensions": extensions})
    xapi.post("/statements", json=statement)
    assert get_one(xapi, statement["id"])["result"]["extensions"] == extensions


def test_unicode_survives_the_round_trip(xapi: Xapi) -> None:
    """Communication 1.4: strings are UTF-8."""
    statement = make_statement()
    statement["actor"]["name"] = "Siân Llŷr 日本語"
    xapi.post("/statements", json=statement)
    assert get_one(xapi, statement["id"])["actor"]["name"] == "Siân Llŷr 日本語"


# -------------------------------------------------------------- malformed input


def test_statements_post_with_a_non_json_content_type_is_400(xapi: Xapi) -> None:
    """Communication 3.2.s3.b6: the content type must match the content."""
    response = xapi.post("/statements", data=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 400
    assert response.json()["path"] == "Content-Type"


def test_statements_post_with_malformed_json_is_400_not_500(xapi: Xapi) -> None:
    response = xapi.post(
        "/statements", data=b'{"actor": ', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid statement"


def test_statements_post_that_is_not_utf8_is_400(xapi: Xapi) -> None:
    body = b'{"actor": {"name": "\xff\xfe"}}'
    response = xapi.post("/statements", data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 400


def test_invalid_statement_error_names_the_path_and_the_rule(xapi: Xapi) -> None:
    statement = make_statement()
    statement["result"] = {"score": {"scaled": 1.5}}
    response = xapi.post("/statements", json=statement)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid statement"
    assert body["path"] == "result.score.scaled"
    assert "between -1 and 1" in body["rule"]


def test_multipart_preamble_and_epilogue_are_ignored(xapi: Xapi) -> None:
    """RFC 2046 5.1.1 (Communication 1.5.2 uses multipart/mixed): text before the first
    delimiter and after the close delimiter is no part."""
    statement = make_statement()
    body = (
        b"This is a preamble.\r\n--simpleboundary\r\nContent-Type: application/json\r\n\r\n"
        + json.dumps(statement).encode()
        + b"\r\n--simpleboundary--\r\nThis is an epilogue.\r\n"
    )
    response = xapi.post(
        "/statements",
        data=body,
        headers={"Content-Type": "multipart/mixed; boundary=simpleboundary"},
    )
    assert response.status_code == 200, response.text
    assert response.json() == [statement["id"]]


def test_empty_batch_is_400(xapi: Xapi) -> None:
    assert xapi.post("/statements", json=[]).status_code == 400


def test_statements_post_with_query_parameters_is_400(xapi: Xapi) -> None:
    """Communication 3.2.s3.b7: unknown parameters are refused."""
    response = xapi.post(
        "/statements", params={"statementId": str(uuid.uuid4())}, json=make_statement()
    )
    assert response.status_code == 400
    assert response.json()["path"] == "statementId"
