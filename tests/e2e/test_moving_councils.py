"""Issue 5's acceptance path: a manager's portfolio moves from council A to council B and
back, over real HTTP and the real CLI, between two `cpdfolio serve` processes with
separate SQLite stores; the bundle is verified offline in between."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import requests
from tincan import (
    Activity,
    ActivityDefinition,
    Agent,
    LanguageMap,
    RemoteLRS,
    Result,
    Statement,
    Verb,
)

from tests.e2e.conftest import Instance

PASSWORD = "correct horse battery"
EMAIL = "ann.jones@council-a.gov.uk"
B_MAILBOX = "ann.jones@council-b.gov.uk"
COURSE = "https://learning.example.gov.uk/course/safeguarding-leadership"
ITEM = "https://cpdfolio.org/frameworks/vsc-cymru-standard/items/KS.1"


def council(root: Path, url: str) -> Instance:
    root.mkdir()
    instance = Instance(root)
    instance.env["CPDFOLIO_PUBLIC_URL"] = url
    assert instance.cli("db", "init").returncode == 0
    return instance


def lms_client(instance: Instance) -> RemoteLRS:
    created = instance.cli(
        "clients", "create", "--name", "LMS", "--scope", "statements/write", "--json"
    )
    assert created.returncode == 0, created.stderr
    credentials = json.loads(created.stdout)
    return RemoteLRS(
        endpoint=instance.url + "/xapi/",
        version="1.0.3",
        username=credentials["key"],
        password=credentials["secret"],
    )


def completed(mailbox: str, course: str = COURSE) -> Statement:
    return Statement(
        id=uuid.uuid4(),
        actor=Agent(name="Ann Jones", mbox=f"mailto:{mailbox}"),
        verb=Verb(
            id="http://adlnet.gov/expapi/verbs/completed",
            display=LanguageMap({"en-GB": "completed"}),
        ),
        object=Activity(
            id=course,
            definition=ActivityDefinition(
                name=LanguageMap({"en-GB": "Safeguarding leadership"}),
                type="http://adlnet.gov/expapi/activities/course",
            ),
        ),
        result=Result(completion=True, duration="PT3H"),
    )


def api(instance: Instance, method: str, path: str, token: str, **kwargs: Any) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"}
    return requests.request(method, instance.url + path, headers=headers, timeout=60, **kwargs)


def login(instance: Instance) -> str:
    response = requests.post(
        instance.url + "/api/session", json={"email": EMAIL, "password": PASSWORD}, timeout=30
    )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


def record_kinds(instance: Instance, token: str) -> list[str]:
    kinds: list[str] = []
    after = 0
    while True:
        page = api(instance, "GET", f"/api/me/record?after={after}&limit=1000", token).json()
        kinds += [entry["entry"]["kind"] for entry in page["entries"]]
        if page.get("next") is None:
            return kinds
        after = page["next"]


def test_a_portfolio_moves_from_council_a_to_b_and_back(tmp_path: Path) -> None:
    a = council(tmp_path / "a", "https://cpdfolio.council-a.gov.uk")
    b = council(tmp_path / "b", "https://cpdfolio.council-b.gov.uk")
    try:
        rule = tmp_path / "rule.json"
        rule.write_text(
            json.dumps(
                {
                    "id": "safeguarding-leadership",
                    "framework": "https://cpdfolio.org/frameworks/vsc-cymru-standard",
                    "match": {"activity": COURSE},
                    "items": [ITEM],
                }
            )
        )
        assert a.cli("rules", "add", str(rule)).returncode == 0
        created = a.cli(
            "people",
            "create",
            "--email",
            EMAIL,
            "--name",
            "Ann Jones",
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert created.returncode == 0, created.stderr
        # B takes portfolios over the API only from instances its administrator trusts:
        # A's published keys go into B's trusted directory.
        trusted_by_b = tmp_path / "b-trusts"
        trusted_by_b.mkdir()
        (trusted_by_b / "council-a.json").write_text(a.cli("instance-keys").stdout)
        b.env["CPDFOLIO_TRUSTED_KEYS_DIR"] = str(trusted_by_b)
        a.serve(workers=2)
        b.serve(workers=2)

        # On A: learning arrives from the LMS; Ann sets a goal and reflects.
        lrs_a = lms_client(a)
        saved = lrs_a.save_statements([completed(EMAIL) for _ in range(4)])
        assert saved.success, saved.data
        token_a = login(a)
        goal = api(
            a, "POST", "/api/me/goals", token_a, json={"title": "Lead reviews", "items": [ITEM]}
        )
        assert goal.status_code == 201, goal.text
        reflection = api(
            a,
            "POST",
            "/api/me/reflections",
            token_a,
            json={
                "about": {"goal": goal.json()["id"]},
                "what_happened": "I chaired a review.",
                "what_i_learnt": "Preparation matters.",
                "how_it_changes_my_practice": "I brief the panel early.",
            },
        )
        assert reflection.status_code == 201, reflection.text
        kinds_on_a = record_kinds(a, token_a)

        # Export over HTTP, verify offline with the CLI (no store, no settings).
        exported = api(a, "GET", "/api/me/bundle", token_a)
        assert exported.status_code == 200, exported.text
        assert exported.headers["Content-Type"] == "application/zip"
        bundle = tmp_path / "ann-from-a.zip"
        bundle.write_bytes(exported.content)
        offline = Instance(tmp_path / "assessor")
        offline.root.mkdir()
        verified = offline.cli("verify", str(bundle), "--json")
        assert verified.returncode == 0, verified.stderr
        summary = json.loads(verified.stdout)
        assert summary["person"]["name"] == "Ann Jones"
        assert summary["statements"] == 4
        assert summary["entries"] == len(kinds_on_a)
        assert summary["exported_by"] == "https://cpdfolio.council-a.gov.uk"
        assert summary["instance_keys_pinned"] is False
        # Pinned to the keys council A publishes, the bundle says A signed it.
        keys_a = tmp_path / "council-a-keys.json"
        keys_a.write_text(a.cli("instance-keys").stdout)
        published = requests.get(a.url + "/.well-known/cpdfolio-keys", timeout=10).json()
        assert published == json.loads(keys_a.read_text())
        pinned = offline.cli("verify", str(bundle), "--trust", str(keys_a), "--json")
        assert pinned.returncode == 0, pinned.stderr
        assert json.loads(pinned.stdout)["instance_keys_pinned"] is True

        # Into B over HTTP: the arriving owner has no account there yet.
        wrong = requests.post(
            b.url + "/api/arrivals",
            files={"bundle": bundle.read_bytes()},
            data={"password": "not her password"},
            timeout=60,
        )
        assert wrong.status_code == 401
        arrived = requests.post(
            b.url + "/api/arrivals",
            files={"bundle": bundle.read_bytes()},
            data={"password": PASSWORD},
            timeout=120,
        )
        assert arrived.status_code == 201, arrived.text
        assert arrived.json()["outcome"] == "imported"
        assert arrived.json()["statements"] == 4
        again = requests.post(
            b.url + "/api/arrivals",
            files={"bundle": bundle.read_bytes()},
            data={"password": PASSWORD},
            timeout=120,
        )
        assert again.status_code == 200 and again.json()["outcome"] == "already here"

        # On B: nothing lost, then new evidence from B's LMS under her new mailbox.
        token_b = login(b)
        assert record_kinds(b, token_b) == [*kinds_on_a, "moved", "arrival-witnessed"]
        goals_b = api(b, "GET", "/api/me/goals", token_b).json()
        assert [g["title"] for g in goals_b] == ["Lead reviews"]
        assert len(api(b, "GET", "/api/me/reflections", token_b).json()) == 1
        linked = b.cli(
            "people",
            "link",
            "--email",
            EMAIL,
            "--identity",
            json.dumps({"mbox": f"mailto:{B_MAILBOX}"}),
            "--administrator",
            "B's HR",
        )
        assert linked.returncode == 0, linked.stderr
        lrs_b = lms_client(b)
        new = completed(B_MAILBOX, "https://learning.example.gov.uk/course/budgeting")
        assert lrs_b.save_statement(new).success
        link = api(
            b,
            "POST",
            f"/api/me/evidence/{new.id}/links",
            token_b,
            json={"item": ITEM, "rationale": "I now set the service budget."},
        )
        assert link.status_code == 201, link.text
        verification = api(b, "GET", "/api/me/record/verification", token_b)
        assert verification.status_code == 200, verification.text
        kinds_on_b = record_kinds(b, token_b)
        assert kinds_on_b[-3:] == ["identity-linked", "statement-witnessed", "evidence-linked"]

        # Back to A with the CLI: one continuous chain showing both moves.
        back = tmp_path / "ann-from-b.zip"
        exported_b = b.cli(
            "export",
            "--person",
            EMAIL,
            "--out",
            str(back),
            "--password-stdin",
            stdin=PASSWORD + "\n",
        )
        assert exported_b.returncode == 0, exported_b.stderr
        keys_b = tmp_path / "council-b-keys.json"
        keys_b.write_text(requests.get(b.url + "/.well-known/cpdfolio-keys", timeout=10).text)
        only_a = offline.cli("verify", str(back), "--trust", str(keys_a))
        assert only_a.returncode == 1 and "is not one you trust" in only_a.stderr
        both = offline.cli("verify", str(back), "--trust", str(keys_a), "--trust", str(keys_b))
        assert both.returncode == 0, both.stderr
        imported = a.cli(
            "import",
            str(back),
            "--password-stdin",
            "--json",
            "--trust",
            str(keys_a),
            "--trust",
            str(keys_b),
            stdin=PASSWORD + "\n",
        )
        assert imported.returncode == 0, imported.stderr
        assert json.loads(imported.stdout)["outcome"] == "moved back"
        checked = a.cli("record", "verify", "--person", EMAIL)
        assert checked.returncode == 0, checked.stderr
        kinds_back = record_kinds(a, login(a))
        assert kinds_back[: len(kinds_on_b)] == kinds_on_b
        assert kinds_back[len(kinds_on_b) :] == ["moved", "arrival-witnessed"]
        assert kinds_back.count("moved") == 2
    finally:
        a.stop()
        b.stop()
