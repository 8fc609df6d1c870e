"""The base of every xAPI schema: strict marshmallow schemas with a fast, fail-fast check.

The schemas are ordinary marshmallow ``Schema`` classes, so an OpenAPI document can be
generated from them with apispec and ``SomeSchema().load(data)`` works as usual (it raises
``marshmallow.ValidationError`` and returns ``data`` itself: validation builds no copy).
Validation does not go through marshmallow's generic loading machinery, which costs about
200 µs for a typical statement; instead :meth:`XapiSchema.check` walks the properties that
are present, calls each field's ``_deserialize`` directly and stops at the first rule
broken. Every field used in these schemas is one of ours (``schemas.xapi.fields``); their
``_deserialize`` only checks and returns the value unchanged.

Errors use marshmallow's nested message format (``{"actor": {"mbox": ["must be ..."]}}``,
integer keys for list items, ``"_schema"`` for the object itself), with exactly one leaf;
:func:`first_violation` turns it into a path and a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, TypeVar

from marshmallow import RAISE, Schema, ValidationError
from marshmallow.exceptions import SCHEMA

__all__ = [
    "NULL_RULE",
    "OBJECT_RULE",
    "REQUIRED_RULE",
    "SCHEMA",
    "UNKNOWN_RULE",
    "Errors",
    "XapiSchema",
    "first_violation",
    "instance_of",
]

#: marshmallow's nested error messages: property names or list indexes down to a list of
#: sentences. Ours always hold exactly one sentence.
Errors = dict[Any, Any]

REQUIRED_RULE: Final = "is required"
NULL_RULE: Final = "must not be null"
OBJECT_RULE: Final = "must be an object"
UNKNOWN_RULE: Final = "is not allowed (unknown property)"

_SchemaT = TypeVar("_SchemaT", bound="XapiSchema")
_instances: dict[type[XapiSchema], XapiSchema] = {}


def instance_of(schema_class: type[_SchemaT]) -> _SchemaT:
    """The one shared instance of ``schema_class`` (schemas hold no per-call state)."""
    instance = _instances.get(schema_class)
    if instance is None:
        instance = _instances[schema_class] = schema_class()
    return instance  # type: ignore[return-value]


class XapiSchema(Schema):
    """A strict xAPI object: unknown properties and ``null`` values are rejected.

    Subclasses declare fields from ``schemas.xapi.fields`` (with ``data_key`` for the
    camelCase JSON names), may list known-but-forbidden properties with a specific rule in
    :attr:`forbidden`, and put rules that involve several properties in
    :meth:`check_rules`.
    """

    class Meta:
        unknown = RAISE

    #: Properties that are not allowed here, with the rule to report instead of
    #: :data:`UNKNOWN_RULE` (e.g. ``id`` inside a SubStatement).
    forbidden: ClassVar[Mapping[str, str]] = {}

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        plan: dict[Any, Any] = {}
        required: list[str] = []
        for name, field in self.load_fields.items():
            key = field.data_key if field.data_key is not None else name
            plan[key] = field._deserialize
            if field.required:
                required.append(key)
        self._plan = plan
        self._required = tuple(required)
        self._has_rules = type(self).check_rules is not XapiSchema.check_rules

    def check(self, data: object) -> Errors | None:
        """Return the first rule ``data`` breaks, as nested messages, or ``None``.

        Properties are checked in the order they appear in ``data``, then the required
        properties, then :meth:`check_rules`.
        """
        if not isinstance(data, dict):
            return {SCHEMA: [NULL_RULE if data is None else OBJECT_RULE]}
        plan = self._plan
        for key, value in data.items():
            check = plan.get(key)
            if check is None:
                return {key: [self.forbidden.get(key, UNKNOWN_RULE)]}
            if value is None:
                # Data 2.2.s4.b1.b1: null is rejected everywhere except inside extensions.
                return {key: [NULL_RULE]}
            try:
                check(value, key, data)
            except ValidationError as error:
                return {key: error.messages}
        for key in self._required:
            if key not in data:
                return {key: [REQUIRED_RULE]}
        if self._has_rules:
            return self.check_rules(data)
        return None

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        """Rules across properties; ``data`` has passed every per-property check."""
        return None

    def _do_load(
        self,
        data: Any,
        *,
        many: bool | None = None,
        partial: Any = None,
        unknown: Any = None,
        postprocess: bool = True,
    ) -> Any:
        """Validate with :meth:`check` and return ``data`` unchanged (``partial``,
        ``unknown`` and ``postprocess`` are ignored: these schemas are always strict)."""
        many = self.many if many is None else bool(many)
        if many:
            if not isinstance(data, list):
                raise ValidationError({SCHEMA: ["must be an array"]}, data=data)
            for index, item in enumerate(data):
                errors = self.check(item)
                if errors is not None:
                    raise ValidationError({index: errors}, data=data)
            return data
        errors = self.check(data)
        if errors is not None:
            raise ValidationError(errors, data=data)
        return data


def first_violation(errors: Any) -> tuple[str, str]:
    """Turn nested marshmallow messages into the path and rule of their first leaf."""
    path = ""
    node = errors
    while True:
        if isinstance(node, dict):
            if not node:
                return path, "is not valid"
            key, node = next(iter(node.items()))
            if key == SCHEMA:
                continue
            if isinstance(key, int):
                path = f"{path}[{key}]"
            else:
                path = f"{path}.{key}" if path else str(key)
        elif isinstance(node, list):
            if not node:
                return path, "is not valid"
            node = node[0]
        else:
            return path, str(node)
