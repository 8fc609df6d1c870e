"""The `format` parameter of GET /statements (Communication 2.1.3).

- exact: the statement as accepted (no parsing: the stored bytes are sent);
- ids: only what identifies each Agent, Group, Activity and Verb (Data 2.4.3.s6.b2: no
  Verb display);
- canonical: one language per language map, chosen per map from Accept-Language
  (Communication 2.1.3.s4.b1, b5); Agents and Groups as in exact.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

Json = dict[str, Any]
# Accept-Language ranges with their quality, best first: [("en-gb", 1.0), ("*", 0.1)].
LanguagePreferences = Sequence[tuple[str, float]]

_IFI_KEYS = ("mbox", "mbox_sha1sum", "openid", "account")


def to_ids(statement: Json) -> Json:
    """The statement reduced to identifiers (format=ids)."""
    return _walk(statement, activity=_activity_id, verb=lambda v: {"id": v["id"]}, agent=_agent_ids)


def to_canonical(statement: Json, languages: LanguagePreferences) -> Json:
    """The statement with each language map in an Activity or Verb cut to one language."""

    def activity(obj: Json) -> Json:
        definition = obj.get("definition")
        if not definition:
            return obj
        return {**obj, "definition": _definition_in(definition, languages)}

    def verb(obj: Json) -> Json:
        if "display" not in obj:
            return obj
        return {**obj, "display": choose_language(obj["display"], languages)}

    return _walk(statement, activity=activity, verb=verb, agent=lambda a: a)


def choose_language(language_map: Mapping[str, str], languages: LanguagePreferences) -> Json:
    """One entry of a language map: the best match for the preferences (RFC 4647 lookup).

    A range matches a tag equal to it or starting with it and a hyphen ("en" matches
    "en-GB"); "*" matches any tag. With no match the first entry is kept, so a map is
    never emptied.
    """
    if not language_map:
        return {}
    tags = list(language_map)
    lowered = [t.lower() for t in tags]
    for wanted, quality in languages:
        if quality <= 0:
            continue
        wanted = wanted.lower()
        if wanted == "*":
            return {tags[0]: language_map[tags[0]]}
        # An exact tag first, then a longer tag the range covers ("en" covers "en-GB").
        for tag, low in zip(tags, lowered, strict=True):
            if low == wanted:
                return {tag: language_map[tag]}
        for tag, low in zip(tags, lowered, strict=True):
            if low.startswith(wanted + "-"):
                return {tag: language_map[tag]}
        # RFC 4647 lookup also falls back from "en-GB" to "en".
        prefix = wanted
        while "-" in prefix:
            prefix = prefix.rsplit("-", 1)[0]
            for tag, low in zip(tags, lowered, strict=True):
                if low == prefix:
                    return {tag: language_map[tag]}
    return {tags[0]: language_map[tags[0]]}


# ------------------------------------------------------------------------ walking


def _walk(
    statement: Json,
    *,
    activity: Callable[[Json], Json],
    verb: Callable[[Json], Json],
    agent: Callable[[Json], Json],
) -> Json:
    out = dict(statement)
    out["actor"] = agent(statement["actor"])
    out["verb"] = verb(statement["verb"])
    out["object"] = _object(statement["object"], activity=activity, verb=verb, agent=agent)
    if "authority" in statement:
        out["authority"] = agent(statement["authority"])
    context = statement.get("context")
    if context:
        out["context"] = _context(context, activity=activity, agent=agent)
    return out


def _object(
    obj: Json,
    *,
    activity: Callable[[Json], Json],
    verb: Callable[[Json], Json],
    agent: Callable[[Json], Json],
) -> Json:
    kind = obj.get("objectType", "Activity")
    if kind == "Activity":
        return activity(obj)
    if kind in ("Agent", "Group"):
        return agent(obj)
    if kind == "SubStatement":
        return _walk(obj, activity=activity, verb=verb, agent=agent)
    return obj


def _context(
    context: Json, *, activity: Callable[[Json], Json], agent: Callable[[Json], Json]
) -> Json:
    out = dict(context)
    for role in ("instructor", "team"):
        if role in context:
            out[role] = agent(context[role])
    if "contextActivities" in context:
        out["contextActivities"] = {
            key: [activity(a) for a in values]
            for key, values in context["contextActivities"].items()
        }
    if "contextAgents" in context:
        out["contextAgents"] = [{**e, "agent": agent(e["agent"])} for e in context["contextAgents"]]
    if "contextGroups" in context:
        out["contextGroups"] = [{**e, "group": agent(e["group"])} for e in context["contextGroups"]]
    return out


def _activity_id(obj: Json) -> Json:
    out: Json = {"id": obj["id"]}
    if "objectType" in obj:
        out["objectType"] = obj["objectType"]
    return out


def _agent_ids(obj: Json) -> Json:
    out: Json = {}
    if "objectType" in obj:
        out["objectType"] = obj["objectType"]
    for key in _IFI_KEYS:
        if key in obj:
            out[key] = obj[key]
            return out
    # An anonymous Group is identified by its members (Communication 2.1.3, format).
    out["member"] = [_agent_ids(m) for m in obj.get("member", ())]
    return out


def _definition_in(definition: Json, languages: LanguagePreferences) -> Json:
    out = dict(definition)
    for key in ("name", "description"):
        if key in definition:
            out[key] = choose_language(definition[key], languages)
    for key in ("choices", "scale", "source", "target", "steps"):
        if key in definition:
            out[key] = [
                {**c, "description": choose_language(c["description"], languages)}
                if "description" in c
                else c
                for c in definition[key]
            ]
    return out
