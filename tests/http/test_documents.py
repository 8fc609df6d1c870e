"""The document resources over HTTP: State, Activity Profile and Agent Profile
(Communication 2.2-2.7), their concurrency control (3.1), parameters, scopes and errors."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from base64 import b64encode
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from flask import Flask

from portfolio.storage import open_store
from service import create_app
from tests.conftest import LiveServer, Xapi, make_client

ACTIVITY = "https://lms.example.org/course/safeguarding"
ANN = {"objectType": "Agent", "name": "Ann", "mbox": "mailto:ann@example.org"}
BOB = {"objectType": "Agent", "mbox": "mailto:bob@example.org"}
REGISTRATION = "6c8f5d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"
JSON = {"Content-Type": "application/json"}

STATE = "/activities/state"
ACTIVITY_PROFILE = "/activities/profile"
AGENT_PROFILE = "/agents/profile"
RESOURCES = [STATE, ACTIVITY_PROFILE, AGENT_PROFILE]


def params(resource: str, doc_id: str | None = "doc", **extra: Any) -> dict[str, str]:
    """The parameters naming one document (or, with doc_id None, the whole context)."""
    values: dict[str, Any] = {}
    if resource in (STATE, ACTIVITY_PROFILE):
        values["activityId"] = ACTIVITY
    if resource in (STATE, AGENT_PROFILE):
        values["agent"] = ANN
    if doc_id is not None:
        values["stateId" if resource == STATE else "profileId"] = doc_id
    values.update(extra)
    return {k: json.dumps(v) if isinstance(v, dict) else v for k, v in values.items()}


def sha1(content: bytes) -> str:
    return hashlib.sha1(content).hexdigest()


def quoted(content: bytes) -> str:
    return f'"{sha1(content)}"'


def delete(client: Xapi, path: str, **kwargs: Any) -> requests.Response:
    return client.request("DELETE", path, **kwargs)


def put_json(
    client: Xapi, resource: str, doc: Any, *, doc_id: str = "doc", **headers: str
) -> requests.Response:
    return client.put(
        resource, params=params(resource, doc_id), data=json.dumps(doc), headers={**JSON, **headers}
    )


def post_json(
    client: Xapi, resource: str, doc: Any, *, doc_id: str = "doc", **headers: str
) -> requests.Response:
    return client.post(
        resource, params=params(resource, doc_id), data=json.dumps(doc), headers={**JSON, **headers}
    )


def stored(client: Xapi, resource: str, doc_id: str = "doc") -> requests.Response:
    return client.get(resource, params=params(resource, doc_id))


@pytest.fixture
def xapi2(live_server: LiveServer, credentials: tuple[str, str]) -> Xapi:
    """A client speaking xAPI 2.0.0."""
    return Xapi(live_server.url + "/xapi", credentials, version="2.0.0")


# ------------------------------------------------------------------ storing, reading


@pytest.mark.parametrize("resource", RESOURCES)
def test_any_content_type_is_stored_and_returned_exactly_as_sent(xapi: Xapi, resource: str) -> None:
    """Communication 1.5.b1 and 2.2.s2: documents can have any content type; arbitrary bytes."""
    content = bytes(range(256)) + b"\r\n\x00 the end"
    content_type = "image/x-portable-anymap; charset=binary; x=1"
    put = xapi.put(
        resource,
        params=params(resource),
        data=content,
        headers={"Content-Type": content_type, "If-None-Match": "*"},
    )
    assert put.status_code == 204
    assert put.content == b""
    assert put.headers["ETag"] == quoted(content)
    got = stored(xapi, resource)
    assert got.status_code == 200
    assert got.content == content
    assert got.headers["Content-Type"] == content_type


@pytest.mark.parametrize("resource", RESOURCES)
def test_get_carries_the_quoted_lower_case_sha1_etag_and_last_modified(
    xapi: Xapi, resource: str
) -> None:
    """Communication 3.1.s4.b1-b4 (ETag) and 2.2.s6.b1 (Last-Modified, SHOULD*)."""
    before = datetime.now(UTC).replace(microsecond=0)
    assert put_json(xapi, resource, {"x": "foo"}).status_code == 204
    got = stored(xapi, resource)
    assert got.headers["ETag"] == quoted(b'{"x": "foo"}')
    assert got.headers["ETag"] == got.headers["ETag"].lower()
    modified = parsedate_to_datetime(got.headers["Last-Modified"])
    assert before <= modified <= datetime.now(UTC)


def test_the_etag_after_a_write_is_the_one_a_get_then_returns(xapi: Xapi) -> None:
    first = put_json(xapi, STATE, {"x": 1})
    merged = post_json(xapi, STATE, {"y": 2})
    assert first.headers["ETag"] != merged.headers["ETag"]
    assert stored(xapi, STATE).headers["ETag"] == merged.headers["ETag"]


@pytest.mark.parametrize("resource", RESOURCES)
def test_an_unknown_document_is_404(xapi: Xapi, resource: str) -> None:
    response = stored(xapi, resource, "never-stored")
    assert response.status_code == 404
    assert response.json()["error"] == "not found"
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


@pytest.mark.parametrize("resource", RESOURCES)
def test_head_answers_like_get_without_a_body(xapi: Xapi, resource: str) -> None:
    """Communication 1.1."""
    put_json(xapi, resource, {"x": 1})
    get, head = stored(xapi, resource), xapi.head(resource, params=params(resource))
    assert head.status_code == 200 and head.content == b""
    for header in ("ETag", "Last-Modified", "Content-Type", "X-Experience-API-Version"):
        assert head.headers[header] == get.headers[header]
    listing = xapi.head(resource, params=params(resource, None))
    assert listing.status_code == 200 and listing.content == b""
    assert xapi.head(resource, params=params(resource, "unknown")).status_code == 404


def test_documents_need_no_prior_knowledge_of_the_activity_or_agent(xapi: Xapi) -> None:
    """Communication 2.2.s4.b2."""
    response = xapi.put(
        STATE,
        params=params(STATE, activityId="urn:x-never-seen:activity", agent=BOB),
        data=b"1",
        headers=JSON,
    )
    assert response.status_code == 204


def test_state_documents_are_kept_apart_by_registration(xapi: Xapi) -> None:
    without = params(STATE)
    with_reg = params(STATE, registration=REGISTRATION)
    assert xapi.put(STATE, params=without, data=b"none", headers=JSON).status_code == 204
    assert xapi.put(STATE, params=with_reg, data=b"reg", headers=JSON).status_code == 204
    assert xapi.get(STATE, params=without).content == b"none"
    assert xapi.get(STATE, params=with_reg).content == b"reg"
    # A UUID's hex digits are case insensitive: the same registration either way.
    upper = params(STATE, registration=REGISTRATION.upper())
    assert xapi.get(STATE, params=upper).content == b"reg"


def test_an_agent_is_found_by_its_ifi_whatever_else_the_object_says(xapi: Xapi) -> None:
    """Data 2.3.1.b7: the e-mail domain is case insensitive; the name is not part of the key."""
    put_json(xapi, AGENT_PROFILE, {"x": 1})
    same = {"mbox": "mailto:ann@EXAMPLE.org", "name": "Someone else"}
    response = xapi.get(AGENT_PROFILE, params=params(AGENT_PROFILE, agent=same))
    assert response.status_code == 200
    as_group = {"objectType": "Group", "mbox": "mailto:ann@example.org"}
    # Communication 2.6.s3 note: an Identified Group's IFI reaches the same documents.
    assert xapi.get(AGENT_PROFILE, params=params(AGENT_PROFILE, agent=as_group)).status_code == 200


# ---------------------------------------------------------------------- id lists


def test_state_get_without_state_id_lists_the_ids_of_the_context(xapi: Xapi) -> None:
    """Communication 2.3.s4: Activity + Agent [+ registration if specified]."""
    for state_id in ("a", "b"):
        xapi.put(STATE, params=params(STATE, state_id), data=b"{}", headers=JSON)
    xapi.put(STATE, params=params(STATE, "c", registration=REGISTRATION), data=b"{}", headers=JSON)
    xapi.put(STATE, params=params(STATE, "a", registration=REGISTRATION), data=b"{}", headers=JSON)
    xapi.put(STATE, params=params(STATE, "z", agent=BOB), data=b"{}", headers=JSON)
    everything = xapi.get(STATE, params=params(STATE, None))
    assert everything.status_code == 200
    assert everything.headers["Content-Type"] == "application/json"
    assert sorted(everything.json()) == ["a", "b", "c"]
    narrowed = xapi.get(STATE, params=params(STATE, None, registration=REGISTRATION))
    assert sorted(narrowed.json()) == ["a", "c"]
    other = xapi.get(STATE, params=params(STATE, None, activityId="https://x.org/other"))
    assert other.json() == []
    assert "Last-Modified" not in other.headers


@pytest.mark.parametrize("resource", RESOURCES)
def test_since_lists_only_documents_updated_after_it(xapi: Xapi, resource: str) -> None:
    """Communication 2.3.s4, 2.6.s4, 2.7.s4: `since` is exclusive."""
    put_json(xapi, resource, {"n": 1}, doc_id="old")
    time.sleep(0.01)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.01)
    put_json(xapi, resource, {"n": 2}, doc_id="new")
    listing = xapi.get(resource, params=params(resource, None, since=between))
    assert listing.json() == ["new"]
    assert sorted(xapi.get(resource, params=params(resource, None)).json()) == ["new", "old"]
    # The old one, changed now, is listed again.
    post_json(xapi, resource, {"n": 3}, doc_id="old")
    assert sorted(xapi.get(resource, params=params(resource, None, since=between)).json()) == [
        "new",
        "old",
    ]
    future = xapi.get(resource, params=params(resource, None, since="2999-01-01T00:00:00Z"))
    assert future.json() == []


def test_a_list_carries_last_modified_of_its_newest_document(xapi: Xapi) -> None:
    """Communication 2.2.s6.b2 (SHOULD*)."""
    put_json(xapi, ACTIVITY_PROFILE, {}, doc_id="a")
    time.sleep(1.1)  # Last-Modified has one-second resolution
    put_json(xapi, ACTIVITY_PROFILE, {}, doc_id="b")
    listing = xapi.get(ACTIVITY_PROFILE, params=params(ACTIVITY_PROFILE, None))
    newest = stored(xapi, ACTIVITY_PROFILE, "b").headers["Last-Modified"]
    assert listing.headers["Last-Modified"] == newest
    assert newest != stored(xapi, ACTIVITY_PROFILE, "a").headers["Last-Modified"]


# ------------------------------------------------------------------------ deleting


@pytest.mark.parametrize("resource", RESOURCES)
def test_delete_removes_one_document(xapi: Xapi, resource: str) -> None:
    put_json(xapi, resource, {"x": 1})
    put_json(xapi, resource, {"x": 1}, doc_id="other")
    assert delete(xapi, resource, params=params(resource)).status_code == 204
    assert stored(xapi, resource).status_code == 404
    assert stored(xapi, resource, "other").status_code == 200


@pytest.mark.parametrize("resource", RESOURCES)
def test_deleting_a_document_that_is_not_there_is_204(xapi: Xapi, resource: str) -> None:
    # As the ADL conformance suite expects of a DELETE to a fresh Agent Profile.
    assert delete(xapi, resource, params=params(resource, "never")).status_code == 204


def test_state_delete_without_state_id_deletes_the_whole_context(xapi: Xapi) -> None:
    """Communication 2.3.s5: Activity + Agent [+ registration if specified]."""
    for state_id, extra in [
        ("a", {}),
        ("b", {"registration": REGISTRATION}),
        ("c", {"registration": "0c8f5d1e-2a3b-4c5d-8e9f-0a1b2c3d4e5f"}),
        ("bobs", {"agent": BOB}),
    ]:
        xapi.put(STATE, params=params(STATE, state_id, **extra), data=b"{}", headers=JSON)
    put_json(xapi, ACTIVITY_PROFILE, {})
    narrowed = delete(xapi, STATE, params=params(STATE, None, registration=REGISTRATION))
    assert narrowed.status_code == 204
    assert sorted(xapi.get(STATE, params=params(STATE, None)).json()) == ["a", "c"]
    assert delete(xapi, STATE, params=params(STATE, None)).status_code == 204
    assert xapi.get(STATE, params=params(STATE, None)).json() == []
    assert xapi.get(STATE, params=params(STATE, None, agent=BOB)).json() == ["bobs"]
    assert stored(xapi, ACTIVITY_PROFILE).status_code == 200


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_profile_delete_needs_the_profile_id(xapi: Xapi, resource: str) -> None:
    response = delete(xapi, resource, params=params(resource, None))
    assert response.status_code == 400
    assert response.json()["path"] == "profileId"


# ------------------------------------------------------------------------- merging


@pytest.mark.parametrize("resource", RESOURCES)
def test_post_merges_the_top_level_properties_of_json_objects(xapi: Xapi, resource: str) -> None:
    """Communication 2.2.s7 (the spec's own example) and 2.2.s8.b2."""
    put_json(xapi, resource, {"x": "foo", "y": "bar", "car": {"make": "Ford", "model": "Escape"}})
    response = post_json(xapi, resource, {"x": "bash", "z": "faz", "car": {"make": "Dodge"}})
    assert response.status_code == 204
    got = stored(xapi, resource)
    assert got.json() == {"x": "bash", "y": "bar", "z": "faz", "car": {"make": "Dodge"}}
    assert got.headers["ETag"] == quoted(got.content)
    assert got.headers["Content-Type"].startswith("application/json")


def test_a_merged_document_keeps_values_json_numbers_can_hold(xapi: Xapi) -> None:
    xapi.put(
        STATE, params=params(STATE), data=b'{"big": 123456789012345678901234567890}', headers=JSON
    )
    post_json(xapi, STATE, {"text": "Diogelu sylfaenol \u2014 Zo\u00eb"})
    assert stored(xapi, STATE).json() == {
        "big": 123456789012345678901234567890,
        "text": "Diogelu sylfaenol \u2014 Zo\u00eb",
    }


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("content", [b"1", b"true", b"[1,2]", b"not json at all"])
def test_post_of_a_new_document_stores_it_as_sent(
    xapi: Xapi, resource: str, content: bytes
) -> None:
    """Communication 2.2.s7; the ADL suite posts "1" and "true" and expects 204."""
    response = xapi.post(resource, params=params(resource), data=content, headers=JSON)
    assert response.status_code == 204
    assert stored(xapi, resource).content == content


MERGE_REFUSALS = {
    "stored-text": ((b"plain words", "text/plain"), (b'{"a":1}', "application/json")),
    "posted-text": ((b'{"a":1}', "application/json"), (b'{"b":2}', "text/plain")),
    "posted-no-type": ((b'{"a":1}', "application/json"), (b'{"b":2}', None)),
    "stored-array": ((b"[1,2]", "application/json"), (b'{"b":2}', "application/json")),
    "posted-array": ((b'{"a":1}', "application/json"), (b"[3]", "application/json")),
    "stored-bad-json": ((b"{nope", "application/json"), (b'{"b":2}', "application/json")),
    "posted-bad-json": ((b'{"a":1}', "application/json"), (b"{nope", "application/json")),
    "posted-not-utf8": ((b'{"a":1}', "application/json"), (b'{"b":"\xff"}', "application/json")),
    "posted-null": ((b'{"a":1}', "application/json"), (b"null", "application/json")),
    # RFC 8259 has no NaN or Infinity; Python's parser takes them, and reads 1e400 as inf.
    "posted-nan": ((b'{"a":1}', "application/json"), (b'{"b":NaN}', "application/json")),
    "posted-infinity": ((b'{"a":1}', "application/json"), (b'{"b":-Infinity}', "application/json")),
    "posted-overflow": ((b'{"a":1}', "application/json"), (b'{"b":1e400}', "application/json")),
    "stored-nan": ((b'{"a":NaN}', "application/json"), (b'{"b":2}', "application/json")),
}


def test_a_merge_with_nan_names_the_rule(xapi: Xapi) -> None:
    put_json(xapi, STATE, {"a": 1})
    response = xapi.post(STATE, params=params(STATE), data=b'{"b":NaN}', headers=JSON)
    assert response.status_code == 400
    assert response.json()["path"] == ""
    assert "no NaN or Infinity" in response.json()["rule"]
    assert stored(xapi, STATE).json() == {"a": 1}


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("case", sorted(MERGE_REFUSALS))
def test_post_that_cannot_merge_is_400_and_changes_nothing(
    xapi: Xapi, resource: str, case: str
) -> None:
    """Communication 2.2.s8.b1: either not application/json, or either not a JSON object."""
    (old, old_type), (new, new_type) = MERGE_REFUSALS[case]
    xapi.put(resource, params=params(resource), data=old, headers={"Content-Type": old_type})
    headers = {"Content-Type": new_type} if new_type else {}
    response = xapi.post(resource, params=params(resource), data=new, headers=headers)
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "invalid" and body["rule"]
    after = stored(xapi, resource)
    assert after.content == old and after.headers["ETag"] == quoted(old)


# ------------------------------------------------------------------ preconditions


@pytest.mark.parametrize("resource", RESOURCES)
def test_writes_with_the_current_etag_in_if_match_succeed(xapi: Xapi, resource: str) -> None:
    """Communication 3.1.s4.b5 and b7."""
    etag = put_json(xapi, resource, {"x": 1}).headers["ETag"]
    response = put_json(xapi, resource, {"x": 2}, **{"If-Match": etag})
    assert response.status_code == 204
    etag = response.headers["ETag"]
    response = post_json(xapi, resource, {"y": 3}, **{"If-Match": etag})
    assert response.status_code == 204
    assert stored(xapi, resource).json() == {"x": 2, "y": 3}
    response = delete(
        xapi, resource, params=params(resource), headers={"If-Match": response.headers["ETag"]}
    )
    assert response.status_code == 204
    assert stored(xapi, resource).status_code == 404


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_a_failed_if_match_is_412_and_changes_nothing(
    xapi: Xapi, resource: str, method: str
) -> None:
    """Communication 3.1.s4.b9-b12."""
    put_json(xapi, resource, {"x": 1})
    before = stored(xapi, resource)
    stale = '"1111111111111111111111111111111111111111"'
    response = xapi.request(
        method,
        resource,
        params=params(resource),
        data=b'{"x":2}',
        headers={**JSON, "If-Match": stale},
    )
    assert response.status_code == 412
    assert response.json()["error"] == "precondition failed"
    after = stored(xapi, resource)
    assert (after.content, after.headers["ETag"]) == (before.content, before.headers["ETag"])


@pytest.mark.parametrize("resource", RESOURCES)
def test_if_match_star_needs_a_document_to_be_there(xapi: Xapi, resource: str) -> None:
    assert put_json(xapi, resource, {"x": 1}, **{"If-Match": "*"}).status_code == 412
    assert stored(xapi, resource).status_code == 404
    assert put_json(xapi, resource, {"x": 1}, **{"If-None-Match": "*"}).status_code == 204
    assert put_json(xapi, resource, {"x": 2}, **{"If-Match": "*"}).status_code == 204
    assert stored(xapi, resource).json() == {"x": 2}


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_if_none_match_star_writes_only_a_new_document(
    xapi: Xapi, resource: str, method: str
) -> None:
    """Communication 3.1.s4.b6 and b8."""
    first = xapi.request(
        method,
        resource,
        params=params(resource),
        data=b'{"x":1}',
        headers={**JSON, "If-None-Match": "*"},
    )
    assert first.status_code == 204
    again = xapi.request(
        method,
        resource,
        params=params(resource),
        data=b'{"x":2}',
        headers={**JSON, "If-None-Match": "*"},
    )
    assert again.status_code == 412
    assert stored(xapi, resource).content == b'{"x":1}'


def test_if_none_match_with_the_current_etag_refuses_a_write(xapi: Xapi) -> None:
    etag = put_json(xapi, AGENT_PROFILE, {"x": 1}).headers["ETag"]
    assert put_json(xapi, AGENT_PROFILE, {"x": 2}, **{"If-None-Match": etag}).status_code == 412
    other = '"2222222222222222222222222222222222222222"'
    assert put_json(xapi, AGENT_PROFILE, {"x": 3}, **{"If-None-Match": other}).status_code == 204


def test_etags_in_a_list_unquoted_or_in_capitals_are_understood(xapi: Xapi) -> None:
    """Clients may compute the SHA-1 themselves (3.1.s3.b4) and send it bare or upper case."""
    put_json(xapi, STATE, {"x": 1})
    tag = sha1(b'{"x": 1}')
    listed = f'"{"0" * 40}", W/"{"1" * 40}", "{tag}"'
    assert put_json(xapi, STATE, {"x": 2}, **{"If-Match": listed}).status_code == 204
    tag = sha1(b'{"x": 2}')
    assert put_json(xapi, STATE, {"x": 3}, **{"If-Match": tag.upper()}).status_code == 204
    weak = 'W/"' + sha1(b'{"x": 3}') + '"'
    # If-Match compares strongly: a weak tag never matches (RFC 9110 13.1.1).
    assert put_json(xapi, STATE, {"x": 4}, **{"If-Match": weak}).status_code == 412


def test_a_malformed_if_match_is_400_naming_the_header(xapi: Xapi) -> None:
    response = put_json(xapi, STATE, {"x": 1}, **{"If-Match": '"unterminated'})
    assert response.status_code == 400
    assert response.json()["path"] == "If-Match"


def test_get_with_if_none_match_of_the_current_etag_is_304(xapi: Xapi) -> None:
    etag = put_json(xapi, STATE, {"x": 1}).headers["ETag"]
    response = xapi.get(STATE, params=params(STATE), headers={"If-None-Match": etag})
    assert response.status_code == 304
    assert response.headers["ETag"] == etag and response.content == b""
    stale = '"3333333333333333333333333333333333333333"'
    assert (
        xapi.get(STATE, params=params(STATE), headers={"If-None-Match": stale}).status_code == 200
    )
    assert xapi.get(STATE, params=params(STATE), headers={"If-Match": stale}).status_code == 412


def test_delete_of_an_absent_document_with_if_match_is_412(xapi: Xapi) -> None:
    response = delete(xapi, STATE, params=params(STATE), headers={"If-Match": "*"})
    assert response.status_code == 412


# ----------------------------------------------------- 409 without preconditions


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
@pytest.mark.parametrize("client", ["xapi", "xapi2"])
def test_profile_put_over_an_existing_document_without_preconditions_is_409(
    resource: str, client: str, request: pytest.FixtureRequest
) -> None:
    """Communication 3.1.s4.b13-b15: 409, an explanation, and no change."""
    xapi: Xapi = request.getfixturevalue(client)
    assert put_json(xapi, resource, {"x": 1}).status_code == 204  # a new document needs none
    response = put_json(xapi, resource, {"x": 2})
    assert response.status_code == 409
    message = response.json()["message"]
    assert "If-Match" in message and "ETag" in message
    assert stored(xapi, resource).json() == {"x": 1}


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
def test_profile_post_and_delete_without_preconditions_are_allowed_under_1_0_3(
    xapi: Xapi, resource: str
) -> None:
    """Communication 3.1.s3.b2-b3: only SHOULD* for the client, so the LRS accepts them."""
    put_json(xapi, resource, {"x": 1})
    assert post_json(xapi, resource, {"y": 2}).status_code == 204
    assert delete(xapi, resource, params=params(resource)).status_code == 204


@pytest.mark.parametrize("resource", [ACTIVITY_PROFILE, AGENT_PROFILE])
@pytest.mark.parametrize("method", ["POST", "DELETE"])
def test_profile_post_and_delete_over_an_existing_document_need_a_precondition_under_2_0(
    xapi2: Xapi, resource: str, method: str
) -> None:
    """XAPI-2.0-NOTES item 6, the stricter reading: PUT, POST and DELETE of an existing
    document need If-Match or If-None-Match (409 without), as for State."""
    put_json(xapi2, resource, {"x": 1})
    if method == "POST":
        response = post_json(xapi2, resource, {"y": 2})
    else:
        response = delete(xapi2, resource, params=params(resource))
    assert response.status_code == 409
    assert stored(xapi2, resource).json() == {"x": 1}


def test_state_writes_need_no_preconditions_under_1_0_3(xapi: Xapi) -> None:
    """Communication 3.1.s3: the State Resource permits PUT, POST and DELETE without them."""
    assert put_json(xapi, STATE, {"x": 1}).status_code == 204
    assert put_json(xapi, STATE, {"x": 2}).status_code == 204
    assert post_json(xapi, STATE, {"y": 3}).status_code == 204
    assert stored(xapi, STATE).json() == {"x": 2, "y": 3}
    assert delete(xapi, STATE, params=params(STATE)).status_code == 204


@pytest.mark.parametrize("method", ["PUT", "POST", "DELETE"])
def test_state_writes_over_an_existing_document_without_preconditions_are_409_under_2_0(
    xapi2: Xapi, method: str
) -> None:
    """xAPI 2.0.0 gives State the ETag rules of the profiles (docs/conformance.md)."""
    assert put_json(xapi2, STATE, {"x": 1}).status_code == 204  # a new document needs none
    response = xapi2.request(method, STATE, params=params(STATE), data=b'{"x":2}', headers=JSON)
    assert response.status_code == 409
    assert response.headers["X-Experience-API-Version"] == "2.0.0"
    assert stored(xapi2, STATE).json() == {"x": 1}
    etag = stored(xapi2, STATE).headers["ETag"]
    retried = xapi2.request(
        method, STATE, params=params(STATE), data=b'{"x":2}', headers={**JSON, "If-Match": etag}
    )
    assert retried.status_code == 204


def test_state_delete_of_a_whole_context_needs_no_precondition_under_2_0(xapi2: Xapi) -> None:
    put_json(xapi2, STATE, {"x": 1})
    assert delete(xapi2, STATE, params=params(STATE, None)).status_code == 204
    assert xapi2.get(STATE, params=params(STATE, None)).json() == []


# ------------------------------------------------------------------------- races


def race(requests_: list[Callable[[], requests.Response]]) -> list[int]:
    """Send the requests from as many threads released at once; their status codes."""
    barrier = threading.Barrier(len(requests_))
    statuses: list[int] = [0] * len(requests_)

    def send(i: int) -> None:
        barrier.wait()
        statuses[i] = requests_[i]().status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(requests_))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return statuses


@pytest.mark.parametrize("resource", RESOURCES)
def test_two_puts_racing_with_the_same_if_match_one_wins_and_one_gets_412(
    live_server: LiveServer, credentials: tuple[str, str], resource: str
) -> None:
    """Communication 3.1: a precondition holds at the moment of the write, not before it."""
    clients = [Xapi(live_server.url + "/xapi", credentials) for _ in range(2)]
    for round_no in range(5):
        doc_id = f"race-{round_no}"
        etag = put_json(clients[0], resource, {"v": 0}, doc_id=doc_id).headers["ETag"]
        statuses = race(
            [
                partial(put_json, c, resource, {"v": i + 1}, doc_id=doc_id, **{"If-Match": etag})
                for i, c in enumerate(clients)
            ]
        )
        assert sorted(statuses) == [204, 412]
        winner = statuses.index(204) + 1
        assert stored(clients[0], resource, doc_id).json() == {"v": winner}


def test_state_post_merges_racing_without_preconditions_keep_every_key(
    live_server: LiveServer, credentials: tuple[str, str]
) -> None:
    """Under 1.0.3 State takes writes without preconditions; a merge must not lose another."""
    clients = [Xapi(live_server.url + "/xapi", credentials) for _ in range(4)]
    for round_no in range(5):
        doc_id = f"merge-{round_no}"
        put_json(clients[0], STATE, {"start": True}, doc_id=doc_id)
        statuses = race(
            [
                partial(post_json, c, STATE, {f"k{i}": i}, doc_id=doc_id)
                for i, c in enumerate(clients)
            ]
        )
        assert statuses == [204] * len(clients)
        expected = {"start": True} | {f"k{i}": i for i in range(len(clients))}
        assert stored(clients[0], STATE, doc_id).json() == expected


# --------------------------------------------------------------------- parameters

REQUIRED = [
    (STATE, "PUT", "activityId"),
    (STATE, "PUT", "agent"),
    (STATE, "PUT", "stateId"),
    (STATE, "POST", "stateId"),
    (STATE, "GET", "activityId"),
    (STATE, "GET", "agent"),
    (STATE, "DELETE", "agent"),
    (STATE, "DELETE", "activityId"),
    (ACTIVITY_PROFILE, "PUT", "activityId"),
    (ACTIVITY_PROFILE, "POST", "profileId"),
    (ACTIVITY_PROFILE, "GET", "activityId"),
    (ACTIVITY_PROFILE, "DELETE", "profileId"),
    (AGENT_PROFILE, "PUT", "agent"),
    (AGENT_PROFILE, "PUT", "profileId"),
    (AGENT_PROFILE, "GET", "agent"),
    (AGENT_PROFILE, "DELETE", "agent"),
]


@pytest.mark.parametrize(("resource", "method", "missing"), REQUIRED)
def test_a_missing_required_parameter_is_400_naming_it(
    xapi: Xapi, resource: str, method: str, missing: str
) -> None:
    values = params(resource)
    del values[missing]
    response = xapi.request(method, resource, params=values, data=b"{}", headers=JSON)
    assert response.status_code == 400
    assert response.json()["path"] == missing
    assert response.json()["rule"] == "is required"


BAD_PARAMETERS = [
    (STATE, "GET", {"StateId": "x"}, "StateId"),
    (STATE, "GET", {"activityID": ACTIVITY}, "activityID"),
    (STATE, "PUT", {"since": "2026-01-01T00:00:00Z"}, "since"),
    (STATE, "DELETE", {"since": "2026-01-01T00:00:00Z"}, "since"),
    (STATE, "GET", {"profileId": "x"}, "profileId"),
    (ACTIVITY_PROFILE, "GET", {"agent": json.dumps(ANN)}, "agent"),
    (ACTIVITY_PROFILE, "PUT", {"registration": REGISTRATION}, "registration"),
    (AGENT_PROFILE, "GET", {"activityId": ACTIVITY}, "activityId"),
    (AGENT_PROFILE, "GET", {"ProfileId": "x"}, "ProfileId"),
    (STATE, "GET", {"agent": "not json"}, "agent"),
    (STATE, "PUT", {"agent": "true"}, "agent"),
    (STATE, "GET", {"agent": json.dumps({"mbox": "ann@example.org"})}, "agent.mbox"),
    (STATE, "GET", {"agent": json.dumps({**ANN, "openid": "https://x.org/ann"})}, "agent"),
    (
        AGENT_PROFILE,
        "GET",
        {"agent": json.dumps({"objectType": "Group", "member": [ANN]})},
        "agent",
    ),
    (STATE, "GET", {"registration": "not-a-uuid"}, "registration"),
    (STATE, "PUT", {"activityId": "no scheme"}, "activityId"),
    (ACTIVITY_PROFILE, "GET", {"activityId": "no scheme"}, "activityId"),
    (STATE, "GET", {"since": "last tuesday"}, "since"),
    (STATE, "GET", {"since": "9999-12-31T23:59:59-23:00"}, "since"),
    (STATE, "PUT", {"stateId": ""}, "stateId"),
    (AGENT_PROFILE, "PUT", {"profileId": ""}, "profileId"),
]


@pytest.mark.parametrize(("resource", "method", "changes", "path"), BAD_PARAMETERS)
def test_an_unknown_miscased_or_malformed_parameter_is_400_naming_it(
    xapi: Xapi, resource: str, method: str, changes: dict[str, str], path: str
) -> None:
    """Communication 3.2.s3.b7-b8; Data 2.2.s4: parameters are validated like statement values."""
    doc_id = None if "since" in changes and method == "GET" else "doc"
    values = {**params(resource, doc_id), **changes}
    response = xapi.request(method, resource, params=values, data=b"{}", headers=JSON)
    assert response.status_code == 400
    assert response.json()["path"] == path
    assert response.headers["X-Experience-API-Version"] == "1.0.3"


def test_a_parameter_given_twice_is_400(xapi: Xapi) -> None:
    query = [*params(STATE).items(), ("stateId", "again")]
    response = xapi.get(STATE, params=query)
    assert response.status_code == 400
    assert response.json()["path"] == "stateId"


def test_a_miscased_parameter_gets_a_hint(xapi: Xapi) -> None:
    response = xapi.get(STATE, params={**params(STATE), "stateID": "x"})
    assert "did you mean stateId" in response.json()["message"]


def test_since_is_accepted_and_ignored_on_a_single_document_get(xapi: Xapi) -> None:
    put_json(xapi, STATE, {"x": 1})
    response = xapi.get(STATE, params=params(STATE, since="2999-01-01T00:00:00Z"))
    assert response.status_code == 200


# ------------------------------------------------------------------------- scopes

SCOPE_CASES = [
    # scope, resource, method, allowed
    ("state", STATE, "PUT", True),
    ("state", STATE, "GET", True),
    ("state", ACTIVITY_PROFILE, "GET", False),
    ("state", AGENT_PROFILE, "PUT", False),
    ("profile", ACTIVITY_PROFILE, "PUT", True),
    ("profile", AGENT_PROFILE, "DELETE", True),
    ("profile", AGENT_PROFILE, "GET", True),
    ("profile", STATE, "GET", False),
    ("all/read", STATE, "GET", True),
    ("all/read", AGENT_PROFILE, "GET", True),
    ("all/read", STATE, "PUT", False),
    ("all/read", ACTIVITY_PROFILE, "POST", False),
    ("all/read", AGENT_PROFILE, "DELETE", False),
    ("all", STATE, "DELETE", True),
    ("all", ACTIVITY_PROFILE, "PUT", True),
    ("statements/write", STATE, "PUT", False),
    ("statements/read", AGENT_PROFILE, "GET", False),
]


@pytest.mark.parametrize(("scope", "resource", "method", "allowed"), SCOPE_CASES)
def test_scopes_decide_who_reads_and_writes_documents(
    xapi_as,  # type: ignore[no-untyped-def]
    scope: str,
    resource: str,
    method: str,
    allowed: bool,
) -> None:
    """Communication 4.2: state, profile, all/read, all; otherwise 403 (3.2.s3.b10)."""
    client: Xapi = xapi_as(scope)
    response = client.request(method, resource, params=params(resource), data=b"{}", headers=JSON)
    if allowed:
        assert response.status_code in (200, 204, 404)
    else:
        assert response.status_code == 403
        assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("resource", RESOURCES)
def test_documents_need_credentials(live_server: LiveServer, resource: str) -> None:
    response = Xapi(live_server.url + "/xapi", None).get(resource, params=params(resource))
    assert response.status_code == 401


def test_a_forbidden_write_stores_nothing(app: Flask, xapi: Xapi, xapi_as) -> None:  # type: ignore[no-untyped-def]
    reader: Xapi = xapi_as("all/read")
    assert put_json(reader, STATE, {"x": 1}).status_code == 403
    assert stored(xapi, STATE).status_code == 404


# -------------------------------------------------------------- limits and syntax


@pytest.fixture
def small_limit(tmp_path: Path) -> Iterator[Xapi]:
    settings = {
        "database_url": f"sqlite:///{tmp_path / 'small.db'}",
        "secret_key": "test-secret-key",
        "public_url": "http://lrs.test",
        "max_body_bytes": 1_000,
    }
    store = open_store(settings["database_url"])
    store.migrate()
    app = create_app(settings, store_=store)
    server = LiveServer(app)
    server.start()
    yield Xapi(server.url + "/xapi", make_client(app, "all"))
    server.stop()
    store.close()


@pytest.mark.parametrize("resource", RESOURCES)
def test_a_document_larger_than_the_body_limit_is_413(small_limit: Xapi, resource: str) -> None:
    """Communication 3.2.s3.b11."""
    response = small_limit.put(resource, params=params(resource), data=b"x" * 1_001)
    assert response.status_code == 413
    assert stored(small_limit, resource).status_code == 404
    assert small_limit.put(resource, params=params(resource), data=b"x" * 1_000).status_code == 204


def test_alternate_syntax_puts_a_document_with_if_match_as_a_form_field(
    live_server: LiveServer, credentials: tuple[str, str], xapi: Xapi
) -> None:
    """Communication 1.3: headers, parameters and content as form fields."""
    etag = put_json(xapi, STATE, {"x": 1}).headers["ETag"]
    form = {
        **params(STATE),
        "Authorization": "Basic " + b64encode(":".join(credentials).encode()).decode(),
        "X-Experience-API-Version": "1.0.3",
        "Content-Type": "application/json",
        "If-Match": '"0000000000000000000000000000000000000000"',
        "content": '{"x": "Zo\u00eb"}',
    }
    url = live_server.url + "/xapi" + STATE
    refused = requests.post(url, params={"method": "PUT"}, data=form, timeout=10)
    assert refused.status_code == 412
    accepted = requests.post(
        url, params={"method": "PUT"}, data={**form, "If-Match": etag}, timeout=10
    )
    assert accepted.status_code == 204
    assert stored(xapi, STATE).json() == {"x": "Zo\u00eb"}
