"""Agent identity: the inverse functional identifier (IFI) as one comparable key.

Communication 2.1.3 (agent filter): "Agents or Identified Groups are equal when the same
Inverse Functional Identifier is used in each Object compared and those Inverse Functional
Identifiers have equal values", and a Group matches when one of its members does.
Case rules (Data 2.3.1.b7): the domain of an e-mail address is case insensitive, as are
hex digests, so keys carry those parts in lower case.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

Json = Mapping[str, Any]


def normalise_mbox(mbox: str) -> str:
    """`mailto:Local@Domain` → `mailto:Local@domain` (only the domain is case insensitive)."""
    scheme, _, address = mbox.partition(":")
    local, at, domain = address.rpartition("@")
    if not at:
        return f"{scheme.lower()}:{address}"
    return f"{scheme.lower()}:{local}@{domain.lower()}"


def ifi_key(agent: Json) -> str | None:
    """The key of an Agent's or Identified Group's IFI; None for an anonymous Group."""
    if "mbox" in agent:
        return "mbox:" + normalise_mbox(str(agent["mbox"]))
    if "mbox_sha1sum" in agent:
        return "mbox_sha1sum:" + str(agent["mbox_sha1sum"]).lower()
    if "openid" in agent:
        return "openid:" + str(agent["openid"])
    account = agent.get("account")
    if isinstance(account, Mapping):
        return f"account:{account.get('homePage')}|{account.get('name')}"
    return None


def agent_keys(agent: Json) -> Iterator[str]:
    """The keys an agent filter may match on this Agent or Group: its IFI and its members'."""
    key = ifi_key(agent)
    if key is not None:
        yield key
    for member in agent.get("member", ()) or ():
        member_key = ifi_key(member)
        if member_key is not None:
            yield member_key


def is_agent_or_group(obj: Json) -> bool:
    return obj.get("objectType") in ("Agent", "Group")


def agent_from_key(key: str) -> dict[str, Any]:
    """The Agent an IFI key (`ifi_key`) names: the inverse of `ifi_key`, for asking
    another LRS about an identity (its `agent` parameter)."""
    kind, _, value = key.partition(":")
    if kind == "account":
        home_page, _, name = value.partition("|")
        return {"objectType": "Agent", "account": {"homePage": home_page, "name": name}}
    if kind in ("mbox", "mbox_sha1sum", "openid"):
        return {"objectType": "Agent", kind: value}
    raise ValueError(f"not an agent key: {key!r}")
