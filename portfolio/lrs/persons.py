"""The Agents resource (Communication 2.4): a Person object for an Agent, combining the
identifiers the LRS knows belong to one person.

What the LRS knows of an Agent is its own identifier, the SHA-1 form of a mailbox (Data
2.4.2.3: mbox_sha1sum is "the hex-encoded SHA1 hash of a mailto IRI"), the identities the
portfolio has proven to be the same person's (their mailboxes and accounts at each
council: `linked`), and the names statements have given it. Names come from the most
recent statements about the agent that the reader may see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from portfolio.lrs.agents import ifi_key
from portfolio.storage.base import StatementFilter, StatementQuery, StatementStore

Json = Mapping[str, Any]
NAME_SAMPLE = 50


def person_for(
    store: StatementStore,
    agent: Json,
    *,
    authority_client: str | None,
    linked: Sequence[str] = (),
) -> dict[str, Any]:
    """The Person object for `agent` (an Agent or Identified Group with one IFI), with
    the identifiers of `linked` identity keys (portfolio.lrs.agents.ifi_key) added."""
    key = ifi_key(agent)
    names: list[str] = [agent["name"]] if agent.get("name") else []
    if key is not None:
        page = store.query(
            StatementQuery(
                filter=StatementFilter(agent=key, authority_client=authority_client),
                limit=NAME_SAMPLE,
            )
        )
        for record in page.statements:
            statement = orjson.loads(record.body)
            for candidate in (statement["actor"], statement["object"]):
                if ifi_key(candidate) == key and candidate.get("name"):
                    names.append(candidate["name"])
    person: dict[str, Any] = {"objectType": "Person"}
    if names:
        person["name"] = list(dict.fromkeys(names))
    if "mbox" in agent:
        person["mbox"] = [agent["mbox"]]
        person["mbox_sha1sum"] = [hashlib.sha1(agent["mbox"].encode()).hexdigest()]
    elif "mbox_sha1sum" in agent:
        person["mbox_sha1sum"] = [agent["mbox_sha1sum"]]
    if "openid" in agent:
        person["openid"] = [agent["openid"]]
    if "account" in agent:
        person["account"] = [dict(agent["account"])]
    for identity in linked:
        _add_identity(person, identity)
    return person


def _add_identity(person: dict[str, Any], key: str) -> None:
    """Add the identifier an identity key names, once."""
    kind, _, value = key.partition(":")
    if kind == "mbox":
        _add(person, "mbox", value)
        _add(person, "mbox_sha1sum", hashlib.sha1(value.encode()).hexdigest())
    elif kind in ("mbox_sha1sum", "openid"):
        _add(person, kind, value)
    elif kind == "account":
        home_page, _, name = value.partition("|")
        _add(person, "account", {"homePage": home_page, "name": name})


def _add(person: dict[str, Any], field: str, value: object) -> None:
    values = person.setdefault(field, [])
    if value not in values:
        values.append(value)
