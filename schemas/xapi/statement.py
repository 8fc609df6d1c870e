"""Statements, SubStatements, Statement References and the polymorphic ``object``
(xAPI-Data.md 2.4), in the 1.0.3 and the 2.0.0 grammar.

* The ``object`` is chosen by its ``objectType``: ``Activity`` when absent (2.4.4.s2), else
  ``Activity``, ``Agent``, ``Group``, ``StatementRef`` or ``SubStatement``, matched exactly.
* A SubStatement has no ``id``, ``stored``, ``version`` or ``authority`` and its object is
  not a SubStatement (2.4.4.3.s8.b3-b4); otherwise it is validated as a statement.
* ``context.revision`` and ``context.platform`` are allowed only when the object of the
  statement (or SubStatement) that holds the context is an Activity (2.4.6.s4.b1-b2).
* The 2.0.0 grammar differs in the context (contextAgents, contextGroups), the timestamps
  (RFC 3339) and the allowed statement ``version`` values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Final

from marshmallow import ValidationError, fields

from schemas.xapi.activity import ActivitySchema, VerbSchema
from schemas.xapi.agent import AgentOrGroup, AgentSchema, Authority, GroupSchema
from schemas.xapi.attachment import AttachmentSchema
from schemas.xapi.base import NULL_RULE, OBJECT_RULE, Errors, XapiSchema, instance_of
from schemas.xapi.context import ContextSchema, ContextSchemaV2
from schemas.xapi.fields import (
    UUID,
    Constant,
    Timestamp,
    TimestampRFC3339,
    Version,
    VersionV2,
    XapiNested,
    XapiNestedList,
)
from schemas.xapi.result import ResultSchema

__all__ = [
    "StatementObject",
    "StatementRefSchema",
    "StatementSchema",
    "StatementSchemaV2",
    "SubStatementSchema",
    "SubStatementSchemaV2",
]

_OBJECT_TYPE_RULE: Final = "must be one of: Activity, Agent, Group, StatementRef, SubStatement"
_NESTED_SUBSTATEMENT_RULE: Final = "must not be SubStatement inside a SubStatement"
_ACTIVITY_ONLY_RULE: Final = "is only allowed when the statement's object is an Activity"
_NOT_IN_SUBSTATEMENT_RULE: Final = "is not allowed in a SubStatement"


class StatementRefSchema(XapiSchema):
    """A Statement Reference (2.4.4.3.s4): an objectType and a statement id, nothing else."""

    object_type = Constant("StatementRef", data_key="objectType", required=True)
    id = UUID(required=True)


class StatementObject(fields.Field[Any]):
    """The ``object`` of a statement, checked by the schema its ``objectType`` names.

    apispec cannot infer a union from this field: :attr:`choices` names the schemas.
    """

    def __init__(
        self, *, substatement: Callable[[], type[XapiSchema]] | None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._substatement = substatement
        self._schemas: dict[str, XapiSchema] | None = None

    @property
    def choices(self) -> dict[str, type[XapiSchema]]:
        """The schema for each allowed ``objectType``."""
        choices: dict[str, type[XapiSchema]] = {
            "Activity": ActivitySchema,
            "Agent": AgentSchema,
            "Group": GroupSchema,
            "StatementRef": StatementRefSchema,
        }
        if self._substatement is not None:
            choices["SubStatement"] = self._substatement()
        return choices

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(OBJECT_RULE)
        schemas = self._schemas
        if schemas is None:
            schemas = self._schemas = {
                name: instance_of(schema) for name, schema in self.choices.items()
            }
        object_type = value.get("objectType", "Activity")
        schema = schemas.get(object_type) if type(object_type) is str else None
        if schema is None:
            if object_type is None:
                rule = NULL_RULE
            elif object_type == "SubStatement":
                rule = _NESTED_SUBSTATEMENT_RULE
            else:
                rule = _OBJECT_TYPE_RULE
            raise ValidationError({"objectType": [rule]})
        errors = schema.check(value)
        if errors is not None:
            raise ValidationError(errors)
        return value


def _check_context_against_object(data: dict[str, Any]) -> Errors | None:
    """Data 2.4.6.s4.b1-b2: revision and platform only when the object is an Activity."""
    context = data.get("context")
    if context is None or ("revision" not in context and "platform" not in context):
        return None
    if data["object"].get("objectType", "Activity") == "Activity":
        return None
    key = "revision" if "revision" in context else "platform"
    return {"context": {key: [_ACTIVITY_ONLY_RULE]}}


class SubStatementSchema(XapiSchema):
    """A SubStatement (2.4.4.3.s6) under the 1.0.3 grammar."""

    forbidden: ClassVar[Mapping[str, str]] = dict.fromkeys(
        ("id", "stored", "version", "authority"), _NOT_IN_SUBSTATEMENT_RULE
    )

    object_type = Constant("SubStatement", data_key="objectType", required=True)
    actor = AgentOrGroup(required=True)
    verb = XapiNested(VerbSchema, required=True)
    object = StatementObject(substatement=None, required=True)
    result = XapiNested(ResultSchema)
    context = XapiNested(ContextSchema)
    timestamp = Timestamp()
    attachments = XapiNestedList(AttachmentSchema)

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        return _check_context_against_object(data)


class SubStatementSchemaV2(SubStatementSchema):
    """A SubStatement under the 2.0.0 grammar."""

    context = XapiNested(ContextSchemaV2)
    timestamp = TimestampRFC3339()


class StatementSchema(XapiSchema):
    """A Statement (2.4) under the 1.0.3 grammar."""

    id = UUID()
    actor = AgentOrGroup(required=True)
    verb = XapiNested(VerbSchema, required=True)
    object = StatementObject(substatement=lambda: SubStatementSchema, required=True)
    result = XapiNested(ResultSchema)
    context = XapiNested(ContextSchema)
    timestamp = Timestamp()
    stored = Timestamp()
    authority = Authority()
    version = Version()
    attachments = XapiNestedList(AttachmentSchema)

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        return _check_context_against_object(data)


class StatementSchemaV2(StatementSchema):
    """A Statement under the 2.0.0 grammar."""

    object = StatementObject(substatement=lambda: SubStatementSchemaV2, required=True)
    context = XapiNested(ContextSchemaV2)
    timestamp = TimestampRFC3339()
    stored = TimestampRFC3339()
    version = VersionV2()
