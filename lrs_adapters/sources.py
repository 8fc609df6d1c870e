"""Sources: remote LRSs this instance pulls statements from.

Two kinds:
- an administrator's source asks for the agents it names, or for everything its
  credentials may read;
- an owner's source (connected by a portfolio owner through the API) asks only for the
  owner's identities, as linked at the time of each run, and keeps only statements whose
  actor is the owner (an Agent, not a Group). The owner chooses that remote and may run
  it, so whatever else its statements say is only the owner's word: they are witnessed in
  the owner's record alone (service.exchange), never in that of someone they name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from lrs_adapters.connections import Connection, check_name
from lrs_adapters.remote import RemoteError
from portfolio.clock import utc_now_iso
from portfolio.errors import Conflict, InvalidInput, NotFound
from portfolio.lrs.agents import agent_from_key, ifi_key
from portfolio.storage.base import Store
from portfolio.storage.exchange import ALL_STREAM, SourceRecord
from schemas.errors import SchemaViolation
from schemas.xapi import validate_statements


def add_source(
    store: Store,
    connection: Connection,
    *,
    name: str,
    endpoint: str,
    key: str,
    secret: str,
    xapi_version: str = "1.0.3",
    agents: Sequence[str] = (),
    owner: str | None = None,
    since_field: str = "stored",
    check: bool = True,
    replace: bool = False,
) -> SourceRecord:
    """Store a source after checking what was given; with `check`, sign in to the
    remote first, so a wrong endpoint or secret is reported now, not at the first sync.
    Raises InvalidInput naming the field, Conflict when the name is taken."""
    check_name(name)
    remote = connection.seal(
        name=name, endpoint=endpoint, username=key, secret=secret, xapi_version=xapi_version
    )
    if since_field not in ("stored", "timestamp"):
        raise InvalidInput(
            f"since_field {since_field!r}",
            path="since_field",
            rule="must be stored or timestamp",
        )
    if owner is not None and agents:
        raise InvalidInput(
            "an owner's source asks for the owner's identities",
            path="agents",
            rule="must be empty for an owner's source",
        )
    source = SourceRecord(
        name=name,
        remote=remote,
        agents=tuple(_agent_json(a, i) for i, a in enumerate(agents)),
        owner=owner,
        created=utc_now_iso(),
        since_field=since_field,
    )
    if owner is not None:
        connection.check_owner_endpoint(remote.endpoint)
    if not replace and store.sources.get(name) is not None:
        raise Conflict(f"a source named {name!r} already exists (use --replace to change it)")
    if check:
        client = connection.client(name, remote, for_owner=owner is not None)
        try:
            client.check()
        except RemoteError as exc:
            raise InvalidInput(
                f"cannot use {remote.endpoint}: {exc}",
                path="endpoint",
                rule="must be a reachable xAPI LRS that accepts these credentials",
            ) from None
        finally:
            client.close()
    store.sources.add(source, replace=replace)
    return source


def remove_source(store: Store, name: str, *, owner: str | None = None) -> None:
    """Remove a source (an owner only their own); raises NotFound."""
    source = store.sources.get(name)
    if source is None or (owner is not None and source.owner != owner):
        raise NotFound(f"no source named {name!r}")
    store.sources.remove(name)


def streams(store: Store, source: SourceRecord) -> list[str]:
    """What a run asks for: one `agent` value per stream, or "*" for everything."""
    if source.owner is not None:
        return [
            orjson.dumps(agent_from_key(link.identity)).decode()
            for link in store.people.identities(source.owner)
        ]
    return list(source.agents) or [ALL_STREAM]


def about_owner(store: Store, source: SourceRecord) -> set[str] | None:
    """The identity keys of the owner of an owner's source: its statements must be by
    one of them, and are witnessed only for them. None for an administrator's source
    (anything, witnessed for whoever it is about)."""
    if source.owner is None:
        return None
    return {link.identity for link in store.people.identities(source.owner)}


def _is_one_of(agent: object, identities: set[str]) -> bool:
    """Whether `agent` is an Agent (not a Group) whose IFI is one of these identities."""
    if not isinstance(agent, Mapping):
        return False
    if agent.get("objectType", "Agent") != "Agent" or "member" in agent:
        return False
    return ifi_key(agent) in identities


def not_the_owners_own(statement: Mapping[str, Any], identities: set[str]) -> str | None:
    """Where a statement from an owner's source speaks for someone else: "actor" unless
    its actor is an Agent that is one of these identities; "object" when its object is
    an Agent or Group other than them (a SubStatement is held to the same rules); None
    when it is the owner's own word about themselves.

    Not a Group with the owner as a member, nor a statement about another person: the
    owner chooses that remote and may run it, and either would let it put statements in
    the records of the people it names, here or when they link that identity later."""
    if not _is_one_of(statement.get("actor"), identities):
        return "actor"
    target = statement.get("object")
    if not isinstance(target, Mapping):
        return None  # the schema refuses it
    kind = target.get("objectType", "Activity")
    if kind in ("Agent", "Group") and not _is_one_of(target, identities):
        return "object"
    if kind == "SubStatement":
        inner = not_the_owners_own(target, identities)
        return None if inner is None else f"object.{inner}"
    return None


def describe(store: Store, source: SourceRecord) -> dict[str, object]:
    """What `sources list` and the API show of a source: never its secret."""
    run = store.sources.last_run(source.name)
    checkpoints = {
        stream: store.sources.checkpoint(source.name, stream).since
        for stream in streams(store, source)
    }
    return {
        "name": source.name,
        "endpoint": source.remote.endpoint,
        "key": source.remote.username,
        "xapi_version": source.remote.xapi_version,
        "agents": [orjson.loads(a) for a in source.agents],
        "owner": source.owner,
        "created": source.created,
        "since_field": source.since_field,
        "since": checkpoints,
        "last_run": None if run is None else run.to_json(),
    }


def _agent_json(value: str, index: int) -> str:
    """An `agent` given as JSON, checked and kept in a canonical form."""
    path = f"agents[{index}]"
    try:
        agent = orjson.loads(value)
    except orjson.JSONDecodeError:
        raise InvalidInput(
            f"{path} is not JSON", path=path, rule="must be an Agent as JSON"
        ) from None
    if not isinstance(agent, dict):
        raise InvalidInput(f"{path} is not an object", path=path, rule="must be an Agent")
    probe = {
        "actor": agent,
        "verb": {"id": "http://adlnet.gov/expapi/verbs/experienced"},
        "object": {"id": "http://example.org/probe"},
    }
    try:
        validate_statements(probe, version="1.0.3")
    except SchemaViolation as exc:
        raise InvalidInput(
            f"{path}: {exc.path.removeprefix('actor.')} {exc.rule}", path=path, rule=exc.rule
        ) from None
    if ifi_key(agent) is None:
        raise InvalidInput(f"{path} has no identifier", path=path, rule="must have one IFI")
    return orjson.dumps(agent).decode()
