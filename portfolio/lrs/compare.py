"""Statement comparison (Data 2.3.1, "Statement Comparison Requirements").

Two statements match when they differ only in ways the immutability exceptions allow:
properties the LRS assigns (id, authority, stored, version, and a timestamp it filled
in), Activity definitions, Verb display, the serialisation of timestamps, the order of
Group members, attachments, and case-insensitive text (e-mail domains, hex digests,
UUIDs). Everything else is compared as sent; Result duration in particular is a string.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from portfolio.clock import datetime_to_us, parse_iso8601
from portfolio.lrs.agents import normalise_mbox

_LRS_ASSIGNED = ("id", "authority", "stored", "version", "attachments")


def statements_match(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """True when `a` and `b` are the same statement under the comparison rules."""
    # A timestamp missing on either side may have been filled in by the LRS.
    if (
        "timestamp" in a
        and "timestamp" in b
        and _instant(a["timestamp"]) != _instant(b["timestamp"])
    ):
        return False
    return _comparable(a, top=True) == _comparable(b, top=True)


def _instant(value: Any) -> int | str:
    try:
        return datetime_to_us(parse_iso8601(str(value)))
    except ValueError:
        return str(value)


def _comparable(statement: Mapping[str, Any], *, top: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in statement.items():
        if key == "timestamp" or (top and key in _LRS_ASSIGNED):
            continue
        if key in ("actor", "authority"):
            out[key] = _agent(value)
        elif key == "verb":
            out[key] = value["id"]
        elif key == "object":
            out[key] = _object(value)
        elif key == "context":
            out[key] = _context(value)
        else:
            out[key] = value
    if not top and "timestamp" in statement:  # a SubStatement's own timestamp
        out["timestamp"] = _instant(statement["timestamp"])
    return out


def _agent(agent: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(agent)
    # Data 2.4.2.1: an Agent's objectType is optional (a Group's is required), so a
    # missing one means Agent, as a missing Activity objectType means Activity.
    out.setdefault("objectType", "Agent")
    if "mbox" in out:
        out["mbox"] = normalise_mbox(str(out["mbox"]))
    if "mbox_sha1sum" in out:
        out["mbox_sha1sum"] = str(out["mbox_sha1sum"]).lower()
    if "member" in out:
        members = [_agent(m) for m in out["member"]]
        out["member"] = sorted(members, key=lambda m: orjson.dumps(m, option=orjson.OPT_SORT_KEYS))
    return out


def _object(obj: Mapping[str, Any]) -> dict[str, Any]:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return {"objectType": "Activity", "id": obj["id"]}
    if kind in ("Agent", "Group"):
        return _agent(obj)
    if kind == "StatementRef":
        return {"objectType": "StatementRef", "id": str(obj["id"]).lower()}
    return _comparable(obj, top=False)  # SubStatement


def _context(context: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(context)
    if "registration" in out:
        out["registration"] = str(out["registration"]).lower()
    for role in ("instructor", "team"):
        if role in out:
            out[role] = _agent(out[role])
    if "statement" in out:
        out["statement"] = _object(out["statement"])
    activities = out.get("contextActivities")
    if activities:
        out["contextActivities"] = {
            key: [_object(a) for a in (value if isinstance(value, list) else [value])]
            for key, value in activities.items()
        }
    if "contextAgents" in out:
        out["contextAgents"] = [{**e, "agent": _agent(e["agent"])} for e in out["contextAgents"]]
    if "contextGroups" in out:
        out["contextGroups"] = [{**e, "group": _agent(e["group"])} for e in out["contextGroups"]]
    return out
