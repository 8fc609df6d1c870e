"""The acceptance path of the Statement API: a client made with `cpdfolio clients create`
posts statements with the tincan library's RemoteLRS to `cpdfolio serve` (gunicorn, two
workers, SQLite) and reads them back, over real HTTP."""

from __future__ import annotations

import json
import uuid

import requests
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    Context,
    LanguageMap,
    RemoteLRS,
    Result,
    Score,
    Statement,
    Verb,
)

from tests.e2e.conftest import Instance


def make(name: str, course: str) -> Statement:
    return Statement(
        actor=Agent(name=name.title(), mbox=f"mailto:{name}@council.example.gov.uk"),
        verb=Verb(
            id="http://adlnet.gov/expapi/verbs/completed",
            display=LanguageMap({"en-GB": "completed"}),
        ),
        object=Activity(
            id=f"https://learning.example.gov.uk/course/{course}",
            definition=ActivityDefinition(
                name=LanguageMap({"en-GB": course.replace("-", " ").title()}),
                type="http://adlnet.gov/expapi/activities/course",
            ),
        ),
        result=Result(score=Score(scaled=0.9), completion=True, success=True, duration="PT2H"),
        context=Context(registration=uuid.uuid4()),
    )


def test_tincan_remote_lrs_posts_and_reads_back_through_cpdfolio_serve(instance: Instance) -> None:
    assert instance.cli("db", "init").returncode == 0
    created = instance.cli(
        "clients",
        "create",
        "--name",
        "Council LMS",
        "--scope",
        "statements/write",
        "--scope",
        "statements/read",
        "--json",
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    url = instance.serve(workers=2)

    lrs = RemoteLRS(
        endpoint=url + "/xapi/",
        version="1.0.3",
        username=credentials["key"],
        password=credentials["secret"],
    )
    # tincan 1.0.0's About refuses versions it does not know, and /xapi/about must list
    # 2.0.0 too (Communication 2.8.s5.b1), so the endpoint is checked without tincan.
    about = requests.get(url + "/xapi/about", timeout=10).json()
    assert about["version"] == ["1.0.3", "2.0.0"]

    single = lrs.save_statement(make("ann", "safeguarding"))
    assert single.success, single.data
    batch = lrs.save_statements([make("bob", f"module-{i}") for i in range(5)])
    assert batch.success, batch.data

    fetched = lrs.retrieve_statement(single.content.id)
    assert fetched.success
    assert fetched.content.actor.mbox == "mailto:ann@council.example.gov.uk"
    assert fetched.content.result.score.scaled == 0.9
    assert fetched.content.authority.account.name == credentials["key"]

    queried = lrs.query_statements(
        {"agent": Agent(mbox="mailto:bob@council.example.gov.uk"), "limit": 2}
    )
    assert queried.success
    seen = [s.id for s in queried.content.statements]
    more = queried.content.more
    while more:
        page = lrs.more_statements(queried.content)
        assert page.success
        seen += [s.id for s in page.content.statements]
        more = page.content.more
        queried = page
    assert sorted(str(i) for i in seen) == sorted(str(s.id) for s in batch.content)


def test_tincan_sees_a_409_for_a_reused_id_with_other_content(instance: Instance) -> None:
    instance.cli("db", "init")
    credentials = json.loads(
        instance.cli("clients", "create", "--name", "LMS", "--scope", "all", "--json").stdout
    )
    url = instance.serve(workers=1)
    lrs = RemoteLRS(
        endpoint=url + "/xapi/",
        version="1.0.3",
        username=credentials["key"],
        password=credentials["secret"],
    )
    statement = make("ann", "finance")
    statement.id = uuid.uuid4()
    assert lrs.save_statement(statement).success
    statement.object.id = "https://learning.example.gov.uk/course/other"
    response = lrs.save_statement(statement)
    assert not response.success
    assert response.response.status == 409
