"""Agents and Groups (xAPI-Data.md 2.4.2), and the fields that accept either.

Readings chosen where the text leaves a detail open:

* An Agent or an Identified Group has exactly one inverse functional identifier (IFI):
  ``mbox``, ``mbox_sha1sum``, ``openid`` or ``account`` (2.4.2.1.s2.b1-b2, 2.4.2.2.s5.b1).
* An Anonymous Group (no IFI) must have a non-empty ``member`` list (2.4.2.2.s4.b1: it
  "MUST include a member property listing constituent Agents"); an Identified Group may
  list none, some or all of its members (2.4.2.2.s3.b3), so an empty list is allowed there.
* ``member`` lists Agents only (2.4.2.2.s4.b2, s5.b2): a member whose objectType is
  ``Group`` breaks ``member[i].objectType``.
* ``authority`` (2.4.9.s3.b1) is an Agent, or a Group of exactly two Agents (3-legged
  OAuth: an application and a user).
"""

from __future__ import annotations

from typing import Any, Final

from marshmallow import ValidationError, fields

from schemas.xapi.base import (
    NULL_RULE,
    OBJECT_RULE,
    SCHEMA,
    Errors,
    XapiSchema,
    instance_of,
)
from schemas.xapi.fields import IRL, Constant, Mailto, OpenID, Sha1, Str, XapiNested, XapiNestedList

__all__ = [
    "IFI_PROPERTIES",
    "AccountSchema",
    "AgentOrGroup",
    "AgentSchema",
    "Authority",
    "GroupSchema",
]

#: The inverse functional identifiers (2.4.2.3), in the specification's order.
IFI_PROPERTIES: Final = ("mbox", "mbox_sha1sum", "openid", "account")

_ONE_IFI_RULE: Final = (
    "must have exactly one inverse functional identifier (mbox, mbox_sha1sum, openid or account)"
)


def _ifi_count(data: dict[str, Any]) -> int:
    return ("mbox" in data) + ("mbox_sha1sum" in data) + ("openid" in data) + ("account" in data)


class AccountSchema(XapiSchema):
    """A user account on an existing system (2.4.2.4)."""

    home_page = IRL(data_key="homePage", required=True)
    name = Str(required=True)


class _IdentifiedSchema(XapiSchema):
    """The properties Agents and Groups share: a name and the four IFIs."""

    name = Str()
    mbox = Mailto()
    mbox_sha1sum = Sha1()
    openid = OpenID()
    account = XapiNested(AccountSchema)


class AgentSchema(_IdentifiedSchema):
    """An Agent (2.4.2.1): exactly one IFI; ``objectType`` optional except as an object."""

    object_type = Constant("Agent", data_key="objectType")

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        if _ifi_count(data) != 1:
            return {SCHEMA: [_ONE_IFI_RULE]}
        return None


class GroupSchema(_IdentifiedSchema):
    """A Group (2.4.2.2), anonymous (members, no IFI) or identified (one IFI)."""

    object_type = Constant("Group", data_key="objectType", required=True)
    member = XapiNestedList(AgentSchema)

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        count = _ifi_count(data)
        if count > 1:
            return {SCHEMA: [_ONE_IFI_RULE]}
        if count == 0:
            member = data.get("member")
            if member is None:
                return {
                    "member": [
                        "is required for an anonymous Group (a Group without an "
                        "inverse functional identifier)"
                    ]
                }
            if not member:
                return {"member": ["must list at least one Agent for an anonymous Group"]}
        return None


class AgentOrGroup(fields.Field[Any]):
    """An Agent, or a Group when ``objectType`` is ``"Group"`` (actor, instructor).

    apispec cannot infer a union from this field: :attr:`choices` names the schemas.
    """

    choices: Final = {"Agent": AgentSchema, "Group": GroupSchema}
    object_type_rule: str = "must be 'Agent' or 'Group'"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        errors = check_agent_or_group(value, object_type_rule=self.object_type_rule)
        if errors is not None:
            raise ValidationError(errors)
        return value


class Authority(AgentOrGroup):
    """The ``authority`` of a statement: an Agent, or a Group of two Agents (2.4.9)."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        super()._deserialize(value, attr, data, **kwargs)
        if value.get("objectType") == "Group" and len(value.get("member", ())) != 2:
            raise ValidationError(
                {"member": ["must list exactly two Agents (an OAuth consumer and a user)"]}
            )
        return value


def check_agent_or_group(
    value: object, *, object_type_rule: str = AgentOrGroup.object_type_rule
) -> Errors | None:
    """Check ``value`` as a Group if its objectType says so, else as an Agent."""
    if not isinstance(value, dict):
        return {SCHEMA: [NULL_RULE if value is None else OBJECT_RULE]}
    object_type = value.get("objectType", "Agent")
    if object_type == "Agent":
        return instance_of(AgentSchema).check(value)
    if object_type == "Group":
        return instance_of(GroupSchema).check(value)
    return {"objectType": [NULL_RULE if object_type is None else object_type_rule]}
