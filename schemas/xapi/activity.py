"""Verbs, Activities and Activity Definitions (xAPI-Data.md 2.4.3, 2.4.4.1).

Readings chosen where the text leaves a detail open:

* ``interactionType`` is one of the ten values of 2.4.4.1.s8, matched exactly
  (2.2.s4.b1.b6). It is "Required" for Interaction Activities, so a definition with a
  ``correctResponsesPattern`` or an interaction component list but no ``interactionType``
  is rejected at ``interactionType``.
* Each interaction component list is allowed only with the interaction types that
  2.4.4.1.s15 names for it (``choices``: choice, sequencing; ``scale``: likert;
  ``source``/``target``: matching; ``steps``: performance); a list is not required by its
  type. Component ids are strings, distinct within one list (2.4.4.1.s16.b1); they are not
  required to be free of whitespace (a SHOULD NOT).
* Response patterns are strings whose content is not checked (2.4.4.1.s12: characterstring
  parameters are not validated by the LRS; s13.b4: no character limits).
"""

from __future__ import annotations

from typing import Any, Final

from schemas.xapi.base import Errors, XapiSchema
from schemas.xapi.fields import (
    IRI,
    IRL,
    ComponentList,
    Constant,
    Extensions,
    LanguageMap,
    OneOf,
    Str,
    StringList,
    XapiNested,
)

__all__ = [
    "INTERACTION_TYPES",
    "ActivityDefinitionSchema",
    "ActivitySchema",
    "InteractionComponentSchema",
    "VerbSchema",
]

#: Data 2.4.4.1.s8 table row 1.
INTERACTION_TYPES: Final = (
    "true-false",
    "choice",
    "fill-in",
    "long-fill-in",
    "matching",
    "performance",
    "sequencing",
    "likert",
    "numeric",
    "other",
)

#: Data 2.4.4.1.s15 table 2: the component lists each interaction type supports.
COMPONENT_LISTS: Final[dict[str, frozenset[str]]] = {
    "choice": frozenset({"choices"}),
    "sequencing": frozenset({"choices"}),
    "likert": frozenset({"scale"}),
    "matching": frozenset({"source", "target"}),
    "performance": frozenset({"steps"}),
}
_ALL_COMPONENT_LISTS: Final = ("choices", "scale", "source", "target", "steps")
_NONE: Final[frozenset[str]] = frozenset()


class VerbSchema(XapiSchema):
    """A Verb (2.4.3): an IRI and its display names."""

    id = IRI(required=True)
    display = LanguageMap()


class InteractionComponentSchema(XapiSchema):
    """One interaction component (2.4.4.1.s15)."""

    id = Str(required=True)
    description = LanguageMap()


class ActivityDefinitionSchema(XapiSchema):
    """An Activity Definition (2.4.4.1.s2), with the interaction properties (s8)."""

    name = LanguageMap()
    description = LanguageMap()
    type = IRI()
    more_info = IRL(data_key="moreInfo")
    extensions = Extensions()
    interaction_type = OneOf(INTERACTION_TYPES, data_key="interactionType")
    correct_responses_pattern = StringList(data_key="correctResponsesPattern")
    choices = ComponentList(InteractionComponentSchema)
    scale = ComponentList(InteractionComponentSchema)
    source = ComponentList(InteractionComponentSchema)
    target = ComponentList(InteractionComponentSchema)
    steps = ComponentList(InteractionComponentSchema)

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        interaction_type = data.get("interactionType")
        if interaction_type is None:
            if "correctResponsesPattern" in data or any(
                key in data for key in _ALL_COMPONENT_LISTS
            ):
                return {
                    "interactionType": [
                        "is required with correctResponsesPattern or interaction components"
                    ]
                }
            return None
        allowed = COMPONENT_LISTS.get(interaction_type, _NONE)
        for key in _ALL_COMPONENT_LISTS:
            if key in data and key not in allowed:
                return {key: [f"is not allowed with interactionType '{interaction_type}'"]}
        return None


class ActivitySchema(XapiSchema):
    """An Activity (2.4.4.1): an IRI and an optional definition."""

    object_type = Constant("Activity", data_key="objectType")
    id = IRI(required=True)
    definition = XapiNested(ActivityDefinitionSchema)
