"""Helpers shared by tests: statement factories."""

from __future__ import annotations

import uuid
from typing import Any

COMPLETED = "http://adlnet.gov/expapi/verbs/completed"
ATTEMPTED = "http://adlnet.gov/expapi/verbs/attempted"
VOIDED = "http://adlnet.gov/expapi/verbs/voided"


def agent(name: str = "ann", **extra: Any) -> dict[str, Any]:
    return {
        "objectType": "Agent",
        "name": name.title(),
        "mbox": f"mailto:{name}@example.org",
        **extra,
    }


def make_statement(
    *,
    actor: str = "ann",
    verb: str = COMPLETED,
    activity: str = "https://lms.example.org/course/safeguarding",
    with_id: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "actor": agent(actor),
        "verb": {"id": verb, "display": {"en-GB": verb.rsplit("/", 1)[-1]}},
        "object": {
            "objectType": "Activity",
            "id": activity,
            "definition": {
                "name": {"en-GB": "Safeguarding basics", "cy": "Diogelu sylfaenol"},
                "type": "http://adlnet.gov/expapi/activities/course",
            },
        },
        **extra,
    }
    if with_id:
        statement = {"id": str(uuid.uuid4()), **statement}
    return statement


def voiding(target: str, *, actor: str = "ann") -> dict[str, Any]:
    return {
        "id": str(uuid.uuid4()),
        "actor": agent(actor),
        "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
        "object": {"objectType": "StatementRef", "id": target},
    }
