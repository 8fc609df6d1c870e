"""apispec field converters for what apispec cannot read from the schemas: unions, and
rules across properties."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apispec.ext.marshmallow.openapi import OpenAPIConverter
from marshmallow import Schema, fields

from schemas.xapi import ActivitySchema
from schemas.xapi.agent import IFI_PROPERTIES, AgentOrGroup, Authority
from schemas.xapi.context import ActivityOrActivities
from schemas.xapi.statement import StatementObject

# The objectType a union assumes when the property is absent: Data 2.4.2.1 (an actor is
# an Agent unless it says Group) and 2.4.4.s2 (an object is an Activity unless it says).
_IMPLIED_OBJECT_TYPE: tuple[tuple[type[fields.Field[Any]], str], ...] = (
    (StatementObject, "Activity"),
    (AgentOrGroup, "Agent"),
)


def union_property(
    self: OpenAPIConverter, field: fields.Field[Any], ret: dict[str, Any], **kwargs: Any
) -> dict[str, Any]:
    """apispec attribute function: a union field as ``oneOf`` (``anyOf`` when its choices
    overlap) of references to its choices' component schemas.

    A choice whose ``objectType`` is optional in its schema but is not the type implied
    when ``objectType`` is absent gets ``objectType`` required (an Agent as a statement's
    object must say so). One Activity or an array of them (contextActivities) is a
    ``oneOf`` too.
    """
    if isinstance(field, ActivityOrActivities):
        ret.pop("type", None)
        ret.pop("items", None)
        activity = self.resolve_nested_schema(ActivitySchema)
        return {"oneOf": [activity, {"type": "array", "items": activity}]}
    choices = getattr(field, "choices", None)
    if not isinstance(choices, Mapping) or not all(
        isinstance(choice, type) and issubclass(choice, Schema) for choice in choices.values()
    ):
        return {}
    implied = next((name for cls, name in _IMPLIED_OBJECT_TYPE if isinstance(field, cls)), None)
    variants: list[dict[str, Any]] = []
    for name, schema in choices.items():
        ref = self.resolve_nested_schema(schema)
        object_type = schema._declared_fields.get("object_type")
        if implied is not None and name != implied and object_type and not object_type.required:
            ref = {"allOf": [ref, {"required": ["objectType"]}]}
        if isinstance(field, Authority) and name == "Group":
            # Data 2.4.9.s3.b1: a Group authority is an OAuth consumer and a user.
            pair = {"type": "array", "minItems": 2, "maxItems": 2}
            ref = {"allOf": [ref, {"required": ["member"], "properties": {"member": pair}}]}
        variants.append(ref)
    return {"anyOf" if getattr(field, "overlapping", False) else "oneOf": variants}


def _one_ifi() -> list[dict[str, Any]]:
    return [{"required": [name]} for name in IFI_PROPERTIES]


# Data 2.4.2.1.s2.b1-b2: an Agent has exactly one inverse functional identifier.
AGENT_RULES: dict[str, Any] = {"oneOf": _one_ifi()}
# Data 2.4.2.2: an Identified Group has exactly one IFI; an anonymous Group has none and
# lists at least one member.
GROUP_RULES: dict[str, Any] = {
    "oneOf": [
        *_one_ifi(),
        {
            "required": ["member"],
            "properties": {"member": {"minItems": 1}},
            "not": {"anyOf": _one_ifi()},
        },
    ]
}


def component_name(schema: type[Schema] | Schema) -> str:
    """``StatementSchemaV2`` → ``StatementV2``; ``ErrorSchema`` → ``Error``."""
    cls = schema if isinstance(schema, type) else type(schema)
    return cls.__name__.replace("Schema", "") or cls.__name__
