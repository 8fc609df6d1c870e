"""marshmallow fields for xAPI values: strict types, one direct ``_deserialize`` each.

Each field subclasses the marshmallow field closest to its JSON type, so apispec documents
it correctly, and overrides ``_deserialize`` to check the value and return it unchanged,
raising ``ValidationError`` with one short rule. ``null`` never reaches a field: the schema
rejects it first (:meth:`schemas.xapi.base.XapiSchema.check`).

Strictness (Data 2.2.s4.b1): a string is never a number or a boolean, a boolean is never a
number (Python's ``bool`` is an ``int``, so types are compared exactly), numbers are finite.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from marshmallow import ValidationError, fields

from schemas.xapi import primitives
from schemas.xapi.base import OBJECT_RULE, Errors, XapiSchema, instance_of

__all__ = [
    "IRI",
    "IRL",
    "UUID",
    "Boolean",
    "ComponentList",
    "Constant",
    "Duration",
    "Extensions",
    "IRIList",
    "LanguageMap",
    "LanguageTag",
    "Mailto",
    "MediaType",
    "NonNegativeInteger",
    "Number",
    "OneOf",
    "OpenID",
    "Sha1",
    "Sha2",
    "Str",
    "StringList",
    "Timestamp",
    "TimestampRFC3339",
    "Version",
    "VersionV2",
    "XapiNested",
    "XapiNestedList",
]

ARRAY_RULE: Final = "must be an array"
BOOLEAN_RULE: Final = "must be a boolean"
NUMBER_RULE: Final = "must be a number"
INTEGER_RULE: Final = "must be an integer"
NON_EMPTY_MAP_RULE: Final = "must not be empty"
LANGUAGE_MAP_RULE: Final = "must be a language map (an object)"
NON_EMPTY_ARRAY_RULE: Final = "must not be an empty array"

SchemaRef = type[XapiSchema] | Callable[[], type[XapiSchema]]


def _resolve(ref: SchemaRef) -> XapiSchema:
    schema_class = ref if isinstance(ref, type) else ref()
    return instance_of(schema_class)


class Str(fields.String):
    """A JSON string."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is not str:
            raise ValidationError(primitives.STRING_RULE)
        return value


class _Formatted(fields.String):
    """A string with a format, checked by :meth:`rule`."""

    format: str = ""

    def __init__(self, **kwargs: Any) -> None:
        if self.format:
            kwargs["metadata"] = {"format": self.format, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def rule(self, value: object) -> str | None:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        rule = self.rule(value)
        if rule is not None:
            raise ValidationError(rule)
        return value


class IRI(_Formatted):
    """An absolute IRI (Data 4.3)."""

    format = "iri"

    def rule(self, value: object) -> str | None:
        return primitives.check_iri(value)


class IRL(_Formatted):
    """An absolute IRL: an IRI that locates something (``scheme://...``)."""

    format = "iri"

    def rule(self, value: object) -> str | None:
        return primitives.check_irl(value)


class OpenID(_Formatted):
    """An OpenID: an absolute URI (Data 2.4.2.3)."""

    format = "uri"

    def rule(self, value: object) -> str | None:
        return primitives.check_openid(value)


class Mailto(_Formatted):
    """A ``mailto:`` IRI (Data 2.4.2.3 mbox)."""

    format = "mailto-iri"

    def rule(self, value: object) -> str | None:
        return primitives.check_mailto(value)


class Sha1(_Formatted):
    """A hex-encoded SHA-1 hash (Data 2.4.2.3 mbox_sha1sum)."""

    format = "sha1-hex"

    def rule(self, value: object) -> str | None:
        return primitives.check_sha1(value)


class Sha2(_Formatted):
    """A hex-encoded SHA-2 hash (Data 2.4.11 sha2)."""

    format = "sha2-hex"

    def rule(self, value: object) -> str | None:
        return primitives.check_sha2(value)


class UUID(_Formatted):
    """A UUID in standard string form (Data 4.4)."""

    format = "uuid"

    def rule(self, value: object) -> str | None:
        return primitives.check_uuid(value)


class LanguageTag(_Formatted):
    """An RFC 5646 language tag (Data 2.4.6 language)."""

    format = "language-tag"

    def rule(self, value: object) -> str | None:
        return primitives.check_language_tag(value)


class MediaType(_Formatted):
    """An Internet media type (Data 2.4.11 contentType)."""

    format = "media-type"

    def rule(self, value: object) -> str | None:
        return primitives.check_media_type(value)


class Duration(_Formatted):
    """An ISO 8601 duration (Data 4.6)."""

    format = "duration"

    def rule(self, value: object) -> str | None:
        return primitives.check_duration(value)


class Timestamp(_Formatted):
    """An ISO 8601 timestamp, the xAPI 1.0.3 grammar (Data 4.5)."""

    format = "date-time"

    def rule(self, value: object) -> str | None:
        return primitives.check_timestamp_iso8601(value)


class TimestampRFC3339(Timestamp):
    """An RFC 3339 timestamp, the xAPI 2.0.0 grammar."""

    format = "date-time"

    def rule(self, value: object) -> str | None:
        return primitives.check_timestamp_rfc3339(value)


class Version(_Formatted):
    """A statement ``version`` under the 1.0.3 grammar (Data 2.4.10)."""

    def rule(self, value: object) -> str | None:
        return primitives.check_version(value, allow_2_0=False)


class VersionV2(Version):
    """A statement ``version`` under the 2.0.0 grammar."""

    def rule(self, value: object) -> str | None:
        return primitives.check_version(value, allow_2_0=True)


class Constant(fields.String):
    """A string that must be exactly one value (an ``objectType``)."""

    def __init__(self, constant: str, **kwargs: Any) -> None:
        kwargs["metadata"] = {"enum": [constant], **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.constant = constant
        self.constant_rule = f"must be '{constant}'"

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if value != self.constant or type(value) is not str:
            raise ValidationError(self.constant_rule)
        return value


class OneOf(fields.String):
    """A string from a fixed list, compared case-sensitively (Data 2.2.s4.b1.b6)."""

    def __init__(self, choices: tuple[str, ...], **kwargs: Any) -> None:
        kwargs["metadata"] = {"enum": list(choices), **kwargs.get("metadata", {})}
        super().__init__(**kwargs)
        self.choices = frozenset(choices)
        self.choices_rule = "must be one of: " + ", ".join(choices)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is not str or value not in self.choices:
            raise ValidationError(self.choices_rule)
        return value


class Boolean(fields.Boolean):
    """A JSON boolean: ``true`` or ``false``, never ``"true"`` or ``1``."""

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is not bool:
            raise ValidationError(BOOLEAN_RULE)
        return value


class Number(fields.Float):
    """A finite JSON number, optionally between inclusive ``minimum`` and ``maximum``
    (both or neither)."""

    def __init__(
        self,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        **kwargs: Any,
    ) -> None:
        bounds = {"minimum": minimum, "maximum": maximum}
        kwargs["metadata"] = {
            **{key: bound for key, bound in bounds.items() if bound is not None},
            **kwargs.get("metadata", {}),
        }
        super().__init__(**kwargs)
        self.minimum = minimum
        self.maximum = maximum
        self.bounds_rule = (
            f"must be between {minimum:g} and {maximum:g}"
            if (minimum is not None and maximum is not None)
            else ""
        )

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not primitives.is_finite_number(value):
            raise ValidationError(NUMBER_RULE)
        if self.bounds_rule and not self.minimum <= value <= self.maximum:
            raise ValidationError(self.bounds_rule)
        return value


class NonNegativeInteger(fields.Integer):
    """A JSON integer that is zero or more (``1.0`` is not an integer here)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"minimum": 0, **kwargs.get("metadata", {})}
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is not int:
            raise ValidationError(INTEGER_RULE)
        if value < 0:
            raise ValidationError("must be greater than or equal to 0")
        return value


class StringList(fields.List[Any]):
    """An array of strings (correctResponsesPattern)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(fields.String(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError(ARRAY_RULE)
        for index, item in enumerate(value):
            if type(item) is not str:
                raise ValidationError({index: [primitives.STRING_RULE]})
        return value


class IRIList(fields.List[Any]):
    """A non-empty array of IRIs (relevantTypes)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"minItems": 1, **kwargs.get("metadata", {})}
        super().__init__(IRI(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError(ARRAY_RULE)
        if not value:
            raise ValidationError(NON_EMPTY_ARRAY_RULE)
        for index, item in enumerate(value):
            rule = primitives.check_iri(item)
            if rule is not None:
                raise ValidationError({index: [rule]})
        return value


class LanguageMap(fields.Dict):
    """A language map (Data 4.2): RFC 5646 tags to strings, at least one entry.

    An empty map is rejected as the ADL conformance suite requires ("a Language Map ...
    has at least 1 entry"). A bad key or value is reported at the map's path; the rule
    names the key.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {
            "format": "language-map",
            "minProperties": 1,
            **kwargs.get("metadata", {}),
        }
        super().__init__(keys=fields.String(), values=fields.String(), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(LANGUAGE_MAP_RULE)
        if not value:
            raise ValidationError(NON_EMPTY_MAP_RULE)
        is_tag = primitives.is_language_tag
        for key, text in value.items():
            if not is_tag(key):
                raise ValidationError(f"has a key that is not an RFC 5646 language tag: {key!r}")
            if type(text) is not str:
                raise ValidationError(f"must map {key!r} to a string")
        return value


class Extensions(fields.Dict):
    """An extensions map (Data 4.1): IRI keys, any JSON values (``null`` included).

    The one place where unknown content is allowed; the values are not looked at
    (Data 4.1.s3.b2: an LRS MUST NOT reject a statement based on extension values).
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs["metadata"] = {"format": "extensions", **kwargs.get("metadata", {})}
        super().__init__(keys=IRI(), values=fields.Raw(allow_none=True), **kwargs)

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(OBJECT_RULE)
        check_iri = primitives.check_iri
        for key in value:
            if check_iri(key) is not None:
                raise ValidationError(f"has a key that is not an absolute IRI: {key!r}")
        return value


class XapiNested(fields.Nested):
    """One xAPI object checked by a shared instance of an :class:`XapiSchema`."""

    def __init__(self, nested: SchemaRef, **kwargs: Any) -> None:
        super().__init__(nested, **kwargs)
        self._ref = nested
        self._target: XapiSchema | None = None

    @property
    def target(self) -> XapiSchema:
        """The shared schema instance that checks the nested object."""
        if self._target is None:
            self._target = _resolve(self._ref)
        return self._target

    def _deserialize(
        self, value: Any, attr: Any, data: Any, partial: Any = None, **kwargs: Any
    ) -> Any:
        errors = self.target.check(value)
        if errors is not None:
            raise ValidationError(errors)
        return value


class XapiNestedList(fields.List[Any]):
    """An array of xAPI objects, each checked by a shared :class:`XapiSchema` instance."""

    def __init__(self, nested: SchemaRef, **kwargs: Any) -> None:
        super().__init__(fields.Nested(nested), **kwargs)
        self._ref = nested
        self._target: XapiSchema | None = None

    @property
    def target(self) -> XapiSchema:
        """The shared schema instance that checks each item."""
        if self._target is None:
            self._target = _resolve(self._ref)
        return self._target

    def check_items(self, value: list[Any]) -> Errors | None:
        """Rules across the items of a list whose items are each valid."""
        return None

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, list):
            raise ValidationError(ARRAY_RULE)
        check = self.target.check
        for index, item in enumerate(value):
            errors = check(item)
            if errors is not None:
                raise ValidationError({index: errors})
        errors = self.check_items(value)
        if errors is not None:
            raise ValidationError(errors)
        return value


class ComponentList(XapiNestedList):
    """An interaction component list (Data 2.4.4.1.s16.b1: all ids distinct)."""

    def check_items(self, value: list[Any]) -> Errors | None:
        seen: set[str] = set()
        for index, component in enumerate(value):
            component_id = component["id"]
            if component_id in seen:
                return {index: {"id": [f"must be unique within {self.name}"]}}
            seen.add(component_id)
        return None
