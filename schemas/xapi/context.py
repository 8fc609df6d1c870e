"""Context (xAPI-Data.md 2.4.6), in the 1.0.3 and the 2.0.0 grammar.

Readings chosen where the text leaves a detail open:

* Each ``contextActivities`` value is one Activity object or an array of them
  (2.4.6.2.s4.b2); an empty array is accepted. Only ``parent``, ``grouping``, ``category``
  and ``other`` are allowed as keys (2.4.6.2.s4.b1).
* ``team`` must be a Group, so its ``objectType`` is required; ``instructor`` is an Agent or
  a Group.
* ``revision`` and ``platform`` are checked against the statement's object by the statement
  schemas (2.4.6.s4.b1-b2), since a context does not know its statement.
* xAPI 2.0.0 adds ``contextAgents`` and ``contextGroups``; their ``objectType`` is required,
  ``relevantTypes`` is optional but not empty when present, and an empty list of context
  agents or groups is accepted like any other empty array. Under 1.0.3 both properties are
  unknown and rejected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final

from marshmallow import ValidationError, fields

from schemas.xapi.activity import ActivitySchema
from schemas.xapi.agent import AgentOrGroup, AgentSchema, GroupSchema
from schemas.xapi.base import Errors, XapiSchema, instance_of
from schemas.xapi.fields import (
    UUID,
    Constant,
    Extensions,
    IRIList,
    LanguageTag,
    Str,
    XapiNested,
    XapiNestedList,
)

__all__ = [
    "ActivityOrActivities",
    "ContextActivitiesSchema",
    "ContextAgentSchema",
    "ContextGroupSchema",
    "ContextSchema",
    "ContextSchemaV2",
]

_ACTIVITIES_RULE: Final = "must be an Activity object or an array of Activity objects"
_V2_ONLY_RULE: Final = "is not allowed (unknown property before xAPI 2.0.0)"


def _statement_ref_schema() -> type[XapiSchema]:
    # statement.py imports this module; the reference is resolved on first use.
    from schemas.xapi.statement import StatementRefSchema

    return StatementRefSchema


class ActivityOrActivities(fields.List[Any]):
    """One Activity object or an array of them (a contextActivities value)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.Nested(ActivitySchema), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        check = instance_of(ActivitySchema).check
        if isinstance(value, dict):
            errors: Errors | None = check(value)
            if errors is not None:
                raise ValidationError(errors)
            return value
        if not isinstance(value, list):
            raise ValidationError(_ACTIVITIES_RULE)
        for index, item in enumerate(value):
            errors = check(item)
            if errors is not None:
                raise ValidationError({index: errors})
        return value


class ContextActivitiesSchema(XapiSchema):
    """The contextActivities map (2.4.6.2)."""

    parent = ActivityOrActivities()
    grouping = ActivityOrActivities()
    category = ActivityOrActivities()
    other = ActivityOrActivities()


class ContextAgentSchema(XapiSchema):
    """A context agent (xAPI 2.0.0)."""

    object_type = Constant("contextAgent", data_key="objectType", required=True)
    agent = XapiNested(AgentSchema, required=True)
    relevant_types = IRIList(data_key="relevantTypes")


class ContextGroupSchema(XapiSchema):
    """A context group (xAPI 2.0.0)."""

    object_type = Constant("contextGroup", data_key="objectType", required=True)
    group = XapiNested(GroupSchema, required=True)
    relevant_types = IRIList(data_key="relevantTypes")


class ContextSchema(XapiSchema):
    """A Context under the 1.0.3 grammar (2.4.6)."""

    forbidden: ClassVar[Mapping[str, str]] = {
        "contextAgents": _V2_ONLY_RULE,
        "contextGroups": _V2_ONLY_RULE,
    }

    registration = UUID()
    instructor = AgentOrGroup()
    team = XapiNested(GroupSchema)
    context_activities = XapiNested(ContextActivitiesSchema, data_key="contextActivities")
    revision = Str()
    platform = Str()
    language = LanguageTag()
    statement = XapiNested(_statement_ref_schema)
    extensions = Extensions()


class ContextSchemaV2(ContextSchema):
    """A Context under the 2.0.0 grammar: adds contextAgents and contextGroups."""

    forbidden: ClassVar[Mapping[str, str]] = {}

    context_agents = XapiNestedList(ContextAgentSchema, data_key="contextAgents")
    context_groups = XapiNestedList(ContextGroupSchema, data_key="contextGroups")
