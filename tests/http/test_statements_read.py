"""GET /xapi/statements over real HTTP (Communication 2.1.3, 2.1.4)."""

from __future__ import annotations

import json
import uuid
from email.utils import parsedate_to_datetime

import pytest

from tests.conftest import Xapi
from tests.support import ATTEMPTED, COMPLETED, agent, make_statement, voiding


def post(xapi: Xapi, *statements: dict) -> list[str]:  # type: ignore[type-arg]
    response = xapi.post("/statements", json=list(statements))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def result_ids(xapi: Xapi, **params: str) -> list[str]:
    response = xapi.get("/statements", params=params)
    assert response.status_code == 200, response.text
    return [s["id"] for s in response.json()["statements"]]


# ------------------------------------------------------------- single statements


def test_get_by_statement_id_returns_the_statement_with_last_modified(xapi: Xapi) -> None:
    """Communication 2.1.3.s2.b8: Last-Modified matches stored."""
    statement = make_statement()
    post(xapi, statement)
    response = xapi.get("/statements", params={"statementId": statement["id"]})
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    got = response.json()
    modified = parsedate_to_datetime(response.headers["Last-Modified"])
    assert got["stored"].startswith(modified.strftime("%Y-%m-%dT%H:%M:%S"))


def test_get_unknown_statement_is_404(xapi: Xapi) -> None:
    response = xapi.get("/statements", params={"statementId": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["error"] == "not found"


def test_statement_id_and_voided_statement_id_together_are_400(xapi: Xapi) -> None:
    """Communication 2.1.3.s2.b1."""
    response = xapi.get(
        "/statements",
        params={"statementId": str(uuid.uuid4()), "voidedStatementId": str(uuid.uuid4())},
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "other", [{"limit": "1"}, {"since": "2026-01-01T00:00:00Z"}, {"verb": COMPLETED}]
)
def test_statement_id_with_a_query_parameter_is_400(xapi: Xapi, other: dict[str, str]) -> None:
    """Communication 2.1.3.s2.b2: only format and attachments may accompany statementId."""
    response = xapi.get("/statements", params={"statementId": str(uuid.uuid4()), **other})
    assert response.status_code == 400
    assert response.json()["path"] == next(iter(other))


def test_statement_id_with_format_and_attachments_is_allowed(xapi: Xapi) -> None:
    statement = make_statement()
    post(xapi, statement)
    response = xapi.get(
        "/statements",
        params={"statementId": statement["id"], "format": "ids", "attachments": "false"},
    )
    assert response.status_code == 200


# ---------------------------------------------------------------------- voiding


def test_voided_statement_is_only_reachable_by_voided_statement_id(xapi: Xapi) -> None:
    """Communication 2.1.4.s1.b1 and Data 2.3.2."""
    target = make_statement()
    post(xapi, target)
    void = voiding(target["id"])
    post(xapi, void)
    assert xapi.get("/statements", params={"statementId": target["id"]}).status_code == 404
    by_voided = xapi.get("/statements", params={"voidedStatementId": target["id"]})
    assert by_voided.status_code == 200 and by_voided.json()["id"] == target["id"]
    assert target["id"] not in result_ids(xapi)
    assert void["id"] in result_ids(xapi)


def test_voided_statement_id_of_a_statement_that_is_not_voided_is_404(xapi: Xapi) -> None:
    statement = make_statement()
    post(xapi, statement)
    assert xapi.get("/statements", params={"voidedStatementId": statement["id"]}).status_code == 404


def test_voiding_statement_is_returned_for_queries_matching_the_voided_one(xapi: Xapi) -> None:
    """Communication 2.1.4.s1.b2: statements targeting a voided statement are still returned."""
    target = make_statement(actor="eve")
    post(xapi, target)
    void = voiding(target["id"], actor="admin")
    post(xapi, void)
    assert result_ids(xapi, agent=json.dumps({"mbox": "mailto:eve@example.org"})) == [void["id"]]


def test_a_voiding_statement_cannot_be_voided(xapi: Xapi) -> None:
    """Data 2.3.2: any statement that voids another cannot itself be voided. The ADL
    conformance suite allows rejecting the attempt; cpdfolio answers 400 and stores nothing."""
    target = make_statement()
    first = voiding(target["id"])
    post(xapi, target, first)
    second = voiding(first["id"])
    response = xapi.post("/statements", json=second)
    assert response.status_code == 400
    assert response.json()["path"] == "object.id"
    assert xapi.get("/statements", params={"statementId": first["id"]}).status_code == 200


def test_voiding_statement_for_an_unknown_target_is_accepted(xapi: Xapi) -> None:
    """Data 2.3.2.s2.b5: the target's absence is no reason to reject."""
    assert xapi.post("/statements", json=voiding(str(uuid.uuid4()))).status_code == 200


def test_voiding_statement_whose_object_is_not_a_statement_ref_is_400(xapi: Xapi) -> None:
    statement = make_statement(verb="http://adlnet.gov/expapi/verbs/voided")
    response = xapi.post("/statements", json=statement)
    assert response.status_code == 400
    assert response.json()["path"] == "object.objectType"


def test_voiding_another_clients_statement_needs_the_all_scope(xapi: Xapi, xapi_as) -> None:  # type: ignore[no-untyped-def]
    """Data 2.3.2.s2.b4: a source not authorised to void gets 403."""
    statement = make_statement()
    post(xapi, statement)
    platform = xapi_as("statements/write", "statements/read")
    response = platform.post("/statements", json=voiding(statement["id"]))
    assert response.status_code == 403
    assert xapi.get("/statements", params={"statementId": statement["id"]}).status_code == 200


def test_voiding_first_does_not_void_another_clients_statement_sent_later(
    xapi: Xapi,
    xapi_as,  # type: ignore[no-untyped-def]
) -> None:
    """Data 2.3.2.s2.b4: a client that may not void another's statement cannot do it by
    sending the voiding statement before the target. Both are stored; the target is not
    voided."""
    target = make_statement()
    platform = xapi_as("statements/write", "statements/read")
    void = voiding(target["id"])
    assert platform.post("/statements", json=void).status_code == 200
    post(xapi, target)
    assert xapi.get("/statements", params={"statementId": target["id"]}).status_code == 200
    assert xapi.get("/statements", params={"voidedStatementId": target["id"]}).status_code == 404
    assert xapi.get("/statements", params={"statementId": void["id"]}).status_code == 200


def test_voiding_first_voids_a_statement_the_same_client_sends_later(
    xapi_as,  # type: ignore[no-untyped-def]
) -> None:
    """Data 2.3.2.s2.b5: the voiding statement waits for its target."""
    target = make_statement()
    platform = xapi_as("statements/write", "statements/read")
    assert platform.post("/statements", json=voiding(target["id"])).status_code == 200
    assert platform.post("/statements", json=target).status_code == 200
    assert platform.get("/statements", params={"statementId": target["id"]}).status_code == 404
    voided = platform.get("/statements", params={"voidedStatementId": target["id"]})
    assert voided.status_code == 200


# ---------------------------------------------------------------------- filters


def test_agent_verb_activity_and_registration_filters(xapi: Xapi) -> None:
    registration = str(uuid.uuid4())
    a = make_statement(actor="ann")
    b = make_statement(
        actor="bob", verb=ATTEMPTED, activity="https://lms.example.org/course/finance"
    )
    c = make_statement(actor="bob", context={"registration": registration})
    post(xapi, a, b, c)
    bob = json.dumps({"mbox": "mailto:bob@example.org"})
    assert set(result_ids(xapi, agent=bob)) == {b["id"], c["id"]}
    assert result_ids(xapi, verb=ATTEMPTED) == [b["id"]]
    assert result_ids(xapi, activity="https://lms.example.org/course/finance") == [b["id"]]
    assert result_ids(xapi, registration=registration) == [c["id"]]
    assert result_ids(xapi, agent=bob, verb=COMPLETED) == [c["id"]]


def test_related_activities_and_related_agents_widen_the_filters(xapi: Xapi) -> None:
    programme = "https://lms.example.org/programme/mdp"
    inside = make_statement(context={"contextActivities": {"grouping": [{"id": programme}]}})
    mentored = make_statement(context={"instructor": agent("mentor")})
    post(xapi, inside, mentored)
    assert result_ids(xapi, activity=programme) == []
    assert result_ids(xapi, activity=programme, related_activities="true") == [inside["id"]]
    mentor = json.dumps({"mbox": "mailto:mentor@example.org"})
    assert result_ids(xapi, agent=mentor) == []
    assert result_ids(xapi, agent=mentor, related_agents="true") == [mentored["id"]]


def test_statement_refs_meet_filters_through_their_targets(xapi: Xapi) -> None:
    """Communication 2.1.3 "Filter Conditions for StatementRefs"."""
    original = make_statement(actor="ben", activity="https://lms.example.org/explosives")
    post(xapi, original)
    follow_up = make_statement(actor="andrew")
    follow_up["object"] = {"objectType": "StatementRef", "id": original["id"]}
    post(xapi, follow_up)
    assert set(result_ids(xapi, activity="https://lms.example.org/explosives")) == {
        original["id"],
        follow_up["id"],
    }


def test_since_until_ascending_and_default_order(xapi: Xapi) -> None:
    ids = [post(xapi, make_statement())[0] for _ in range(3)]
    stored = [xapi.get("/statements", params={"statementId": i}).json()["stored"] for i in ids]
    assert result_ids(xapi) == ids[::-1]
    assert result_ids(xapi, ascending="true") == ids
    assert result_ids(xapi, since=stored[0], until=stored[1]) == [ids[1]]


def test_since_and_until_before_the_year_1000_compare_as_times(xapi: Xapi) -> None:
    """A four-digit year keeps the stored-format strings in time order."""
    statement_id = post(xapi, make_statement())[0]
    assert result_ids(xapi, since="0999-12-31T23:59:59Z") == [statement_id]
    assert result_ids(xapi, until="0999-12-31T23:59:59Z") == []


def test_repeated_query_parameters_are_400_naming_the_parameter(xapi: Xapi) -> None:
    """A parameter given twice is refused, as on the document resources, rather than one
    of its values silently ignored."""
    post(xapi, make_statement())
    for name, value in (("verb", COMPLETED), ("limit", "1"), ("statementId", str(uuid.uuid4()))):
        response = xapi.get("/statements", params=[(name, value), (name, value)])
        assert response.status_code == 400, response.text
        assert (response.json()["path"], response.json()["rule"]) == (name, "must be given once")


def test_no_match_is_200_with_an_empty_statement_result(xapi: Xapi) -> None:
    """Communication 2.1.3.s2.b4."""
    response = xapi.get("/statements", params={"verb": "http://example.org/never"})
    assert response.status_code == 200
    assert response.json() == {"statements": [], "more": ""}


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"foo": "bar"}, "foo"),
        ({"StatementId": str(uuid.uuid4())}, "StatementId"),
        ({"Limit": "1"}, "Limit"),
        ({"limit": "-1"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"limit": "¹"}, "limit"),  # str.isdigit() says yes, int() says no
        ({"agent": "not json"}, "agent"),
        ({"agent": json.dumps({"mbox": "ann@example.org"})}, "agent.mbox"),
        (
            {
                "agent": json.dumps(
                    {"objectType": "Group", "member": [{"mbox": "mailto:a@example.org"}]}
                )
            },
            "agent",
        ),
        ({"verb": "not an iri"}, "verb"),
        ({"activity": "no-scheme"}, "activity"),
        ({"registration": "123"}, "registration"),
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45"}, "until"),
        ({"since": "9999-12-31T23:59:59-23:00"}, "since"),  # past year 9999 in UTC
        ({"related_agents": "yes"}, "related_agents"),
        ({"ascending": "1"}, "ascending"),
        ({"format": "full"}, "format"),
        ({"attachments": "True"}, "attachments"),
    ],
)
def test_bad_query_parameters_are_400_naming_the_parameter(
    xapi: Xapi, params: dict[str, str], path: str
) -> None:
    """Communication 3.2.s3.b7-b8, Data 2.2.s4: parameters are validated like statement values."""
    response = xapi.get("/statements", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["path"] == path


# ---------------------------------------------------------------------- formats


def test_format_ids_keeps_only_identifiers(xapi: Xapi) -> None:
    statement = make_statement(context={"instructor": agent("mentor")})
    post(xapi, statement)
    got = xapi.get("/statements", params={"statementId": statement["id"], "format": "ids"}).json()
    assert got["actor"] == {"objectType": "Agent", "mbox": "mailto:ann@example.org"}
    assert got["verb"] == {"id": COMPLETED}
    assert got["object"] == {"objectType": "Activity", "id": statement["object"]["id"]}
    assert got["context"]["instructor"] == {
        "objectType": "Agent",
        "mbox": "mailto:mentor@example.org",
    }


def test_format_exact_returns_objects_as_received(xapi: Xapi) -> None:
    first = make_statement()
    second = make_statement()
    second["verb"]["display"] = {"en-GB": "done"}
    post(xapi, first, second)
    one = xapi.get("/statements", params={"statementId": first["id"], "format": "exact"}).json()
    two = xapi.get("/statements", params={"statementId": second["id"]}).json()
    assert one["verb"]["display"] == {"en-GB": "completed"}
    assert two["verb"]["display"] == {"en-GB": "done"}
    assert one["object"]["definition"] == first["object"]["definition"]


def test_format_canonical_returns_one_language_per_map_by_accept_language(xapi: Xapi) -> None:
    """Communication 2.1.3.s4.b1, b5: language chosen per map from Accept-Language."""
    statement = make_statement()
    statement["object"]["definition"]["description"] = {"cy": "Disgrifiad"}
    post(xapi, statement)
    got = xapi.get(
        "/statements",
        params={"statementId": statement["id"], "format": "canonical"},
        headers={"Accept-Language": "cy;q=1, en-GB;q=0.5"},
    ).json()
    definition = got["object"]["definition"]
    assert definition["name"] == {"cy": "Diogelu sylfaenol"}
    assert definition["description"] == {"cy": "Disgrifiad"}
    english = xapi.get(
        "/statements",
        params={"statementId": statement["id"], "format": "canonical"},
        headers={"Accept-Language": "en"},
    ).json()
    assert english["object"]["definition"]["name"] == {"en-GB": "Safeguarding basics"}
    assert english["verb"]["display"] == {"en-GB": "completed"}


def test_format_canonical_lists_use_the_canonical_definitions_on_every_page(xapi: Xapi) -> None:
    """Communication 2.1.3: canonical is "the canonical definition of the Activity Objects
    ... as determined by the LRS", in a list and its `more` pages as for one statement."""
    old = make_statement()
    old["object"]["definition"]["name"] = {"en-GB": "Old title"}
    new = make_statement()
    new["object"]["definition"]["name"] = {"en-GB": "New title"}
    post(xapi, old)
    post(xapi, new)
    params = {"format": "canonical", "limit": "1", "ascending": "true"}
    first = xapi.get("/statements", params=params, headers={"Accept-Language": "en-GB"}).json()
    more = xapi.get(first["more"].removeprefix("/xapi"), headers={"Accept-Language": "en-GB"})
    names = [page["statements"][0]["object"]["definition"]["name"] for page in (first, more.json())]
    assert names == [{"en-GB": "New title"}, {"en-GB": "New title"}]


def test_attachments_true_answers_multipart_with_the_statement_first(xapi: Xapi) -> None:
    """Communication 2.1.3.s2.b6: attachments=true uses the multipart response format."""
    statement = make_statement()
    post(xapi, statement)
    response = xapi.get(
        "/statements", params={"statementId": statement["id"], "attachments": "true"}
    )
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    assert content_type.startswith("multipart/mixed; boundary=")
    boundary = content_type.split("boundary=", 1)[1].strip('"')
    first_part = response.content.split(b"--" + boundary.encode())[1]
    headers, _, body = first_part.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in headers
    assert json.loads(body.strip())["id"] == statement["id"]
