"""Mapping rules: which statements are evidence for which items of a framework.

A rule names a framework, optionally a council (statements about identities of that
council: the domain of a mailbox, the host of an account's homePage), conditions on the
statement (object Activity id or type, verb, a context category Activity) and the items
it counts toward, with hours (or the statement's `result.duration`) and a weight.
Rules are instance-wide documents (collection "mapping-rule"), managed by administrators.
A rule whose `match.activity` is set also says that activity is *provision* for its
items: something on offer that develops them (the training-needs grid).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from portfolio.clock import utc_now_iso
from portfolio.errors import InvalidInput, NotFound
from portfolio.standards.catalogue import find_current_item, find_item
from portfolio.storage.base import INSTANCE_DOCS, DeleteDoc, PortfolioDoc, Store
from schemas.errors import SchemaViolation
from schemas.portfolio import MappingRuleSchema, load

COLLECTION = "mapping-rule"
_WEEKS = re.compile(r"^P(?P<w>\d+(?:\.\d+)?)W$")  # the week form stands alone (ISO 8601)
_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


@dataclass(frozen=True)
class MappingRule:
    id: str
    framework: str
    match: Mapping[str, str]
    items: tuple[str, ...]
    title: str = ""
    council: str | None = None
    hours: float | None = None
    weight: float = 1.0

    def to_json(self) -> dict[str, Any]:
        value: dict[str, Any] = {
            "id": self.id,
            "framework": self.framework,
            "match": dict(self.match),
            "items": list(self.items),
            "weight": self.weight,
        }
        if self.title:
            value["title"] = self.title
        if self.council is not None:
            value["council"] = self.council
        if self.hours is not None:
            value["hours"] = self.hours
        return value


def parse_rule(data: Any) -> MappingRule:
    """A rule from its JSON; raises InvalidInput naming the field and rule."""
    try:
        loaded = load(MappingRuleSchema, data)
    except SchemaViolation as exc:
        message = f"{exc.path or 'rule'} {exc.rule}"
        raise InvalidInput(message, path=exc.path, rule=exc.rule) from exc
    return MappingRule(
        id=loaded["id"],
        framework=loaded["framework"],
        match=dict(loaded["match"]),
        items=tuple(loaded["items"]),
        title=loaded.get("title", ""),
        council=loaded.get("council"),
        hours=loaded.get("hours"),
        weight=loaded.get("weight", 1.0),
    )


def save_rule(store: Store, rule: MappingRule) -> None:
    """Store (or replace) a rule. Raises NotFound when an item is in no stored framework,
    InvalidInput when it belongs to another framework than the rule names, or is not an
    item of that framework's latest version (a heading, or retired): rules map what
    arrives from now on, so they name the framework as it is now."""
    for index, uri in enumerate(rule.items):
        found = find_item(store.frameworks, uri)
        if found is None:
            raise NotFound(f"items[{index}]: no stored framework has the item {uri}")
        if found.framework.uri != rule.framework:
            raise InvalidInput(
                f"items[{index}] belongs to {found.framework.uri}, not {rule.framework}",
                path=f"items[{index}]",
                rule="must be an item of the rule's framework",
            )
        find_current_item(store.frameworks, uri, path=f"items[{index}]", framework=rule.framework)
    body = orjson.dumps(rule.to_json(), option=orjson.OPT_SORT_KEYS)
    store.portfolio.apply(
        INSTANCE_DOCS, [], [PortfolioDoc(INSTANCE_DOCS, COLLECTION, rule.id, body, utc_now_iso())]
    )


def delete_rule(store: Store, rule_id: str) -> None:
    if store.portfolio.get_doc(INSTANCE_DOCS, COLLECTION, rule_id) is None:
        raise NotFound(f"no mapping rule {rule_id!r}")
    store.portfolio.apply(INSTANCE_DOCS, [], [DeleteDoc(INSTANCE_DOCS, COLLECTION, rule_id)])


def list_rules(store: Store) -> list[MappingRule]:
    """Every rule, by id."""
    return [
        parse_rule(orjson.loads(doc.body))
        for doc in store.portfolio.list_docs(INSTANCE_DOCS, COLLECTION)
    ]


def council_of(identity: str) -> str:
    """The council an identity key belongs to: a mailbox's domain, an account's host."""
    kind, _, value = identity.partition(":")
    if kind == "mbox":
        return value.rpartition("@")[2].lower()
    if kind == "account":
        return (urlsplit(value.partition("|")[0]).hostname or "").lower()
    return ""


# No one statement of learning lasts longer than a year; a longer duration is a mistake
# (or a claim) that would swamp every total it is added to, so its hours are unknown.
MAX_HOURS = 366 * 24


def duration_hours(duration: object) -> float | None:
    """Hours in an ISO 8601 duration such as PT1H30M or P2W. None when absent, unreadable,
    in months or years (their length varies), or longer than MAX_HOURS: the statement
    still counts as evidence, without hours."""
    if not isinstance(duration, str):
        return None
    weeks = _WEEKS.match(duration)
    if weeks is not None:
        hours = float(weeks["w"]) * 7 * 24
    else:
        found = _DURATION.match(duration)
        if found is None:
            return None
        parts = {k: float(v) if v else 0.0 for k, v in found.groupdict().items()}
        hours = parts["d"] * 24 + parts["h"] + parts["m"] / 60 + parts["s"] / 3600
    return hours if hours <= MAX_HOURS else None


def matches(rule: MappingRule, statement: Mapping[str, Any], identity: str) -> bool:
    """Whether the rule applies to a statement about `identity`."""
    if rule.council is not None and council_of(identity) != rule.council.lower():
        return False
    obj = statement.get("object") or {}
    match = rule.match
    if "activity" in match and obj.get("id") != match["activity"]:
        return False
    if "activity_type" in match:
        definition = obj.get("definition") or {}
        if definition.get("type") != match["activity_type"]:
            return False
    if "verb" in match and (statement.get("verb") or {}).get("id") != match["verb"]:
        return False
    if "category" in match:
        categories = ((statement.get("context") or {}).get("contextActivities") or {}).get(
            "category"
        ) or []
        if isinstance(categories, dict):
            categories = [categories]
        if not any(c.get("id") == match["category"] for c in categories):
            return False
    return True


def apply_rules(
    rules: Sequence[MappingRule], statement: Mapping[str, Any], identity: str
) -> dict[str, dict[str, Any]]:
    """The items a statement is evidence for under `rules`: item → {rules, hours, weight}.
    Several rules for one item add up their weights; hours are the largest any gives."""
    found: dict[str, dict[str, Any]] = {}
    duration = duration_hours((statement.get("result") or {}).get("duration"))
    for rule in rules:
        if not matches(rule, statement, identity):
            continue
        hours = rule.hours if rule.hours is not None else (duration or 0.0)
        for item in rule.items:
            entry = found.setdefault(item, {"rules": [], "hours": 0.0, "weight": 0.0})
            entry["rules"].append(rule.id)
            entry["hours"] = max(entry["hours"], hours)
            entry["weight"] += rule.weight
    return found
