"""1EdTech CASE packages (CFPackage): the shape of a competency framework as data.

A package is one CFDocument with its CFItems, the CFAssociations between them, and the
optional CFDefinitions and CFRubrics, with the property names of the CASE 1.0 JSON binding
(`CFPckgDocument`, `CFPckgItem`, `CFPckgAssociation`...). The optional additions of CASE
1.1 (`caseVersion`, `frameworkType`, `notes` on an association, `subject` on an item,
`targetType` on a node link, the `isTranslationOf` and `ext:` association types, and
`extensions` everywhere) are accepted too, so packages from 1.1 tools load. Every object is
strict: an unknown property or a `null` is an error; `extensions` objects are the one place
anything goes, as CASE 1.1 intends.

Beyond the binding, cpdfolio's own rules for a package it keeps:

* `CFDocument.version` and `CFDocument.title` are required and not blank: a framework is
  known by (uri, version), and a stored version is never changed;
* every `identifier` and every `uri` is unique within the package;
* both ends of every association name the CFDocument or an item of the package, by
  identifier, with that node's uri;
* `isChildOf` associations form a tree under the CFDocument: the origin is an item, an
  item has at most one parent, and there is no cycle.

:func:`validate_package` raises :class:`schemas.errors.SchemaViolation` naming the path
(`CFItems[3].uri`) and the rule of the first violation. The schema classes are exported
for documentation; their ``load`` applies the same rules and raises marshmallow's
``ValidationError``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any, Final

from marshmallow import RAISE, Schema, ValidationError, fields, validates_schema

from schemas.case_rules import IS_CHILD_OF, nest, package_violation
from schemas.errors import SchemaViolation
from schemas.xapi import primitives
from schemas.xapi.base import NULL_RULE, OBJECT_RULE, REQUIRED_RULE, UNKNOWN_RULE, first_violation

__all__ = [
    "IS_CHILD_OF",
    "CFAssociationSchema",
    "CFDefinitionsSchema",
    "CFDocumentSchema",
    "CFItemSchema",
    "CFPackageSchema",
    "CFRubricSchema",
    "validate_package",
]

ARRAY_RULE: Final = "must be an array"
BLANK_RULE: Final = "must not be blank"
INTEGER_RULE: Final = "must be a 32-bit integer"
NUMBER_RULE: Final = "must be a number"
IDENTIFIER_RULE: Final = "must be a UUID (CASE identifier: 8-4-4-4-12 hex, version 1-5)"
DATE_RULE: Final = "must be a date (YYYY-MM-DD)"
ASSOCIATION_TYPE_RULE: Final = "must be a CASE association type or 'ext:' followed by a name"
TARGET_TYPE_RULE: Final = "must be 'CASE' or 'ext:' followed by a name"
CASE_VERSION_RULE: Final = "must be '1.1' when present"

# CASE 1.0 binding, the identifier pattern of every CF object.
_IDENTIFIER_RE: Final = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-[1-5][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", re.IGNORECASE
)
_DATE_RE: Final = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_EXT_RE: Final = re.compile(r"ext:[A-Za-z0-9._-]+")
ASSOCIATION_TYPES: Final = frozenset(
    {
        "isChildOf",
        "isPeerOf",
        "isPartOf",
        "exactMatchOf",
        "precedes",
        "isRelatedTo",
        "replacedBy",
        "exemplar",
        "hasSkillLevel",
        "isTranslationOf",  # CASE 1.1
    }
)


# ---------------------------------------------------------------------------- fields


def _strict(kwargs: dict[str, Any], invalid: str | None = None) -> dict[str, Any]:
    """Field options with our wording for a missing, null or (when given) invalid value."""
    messages: dict[str, str] = {"required": REQUIRED_RULE, "null": NULL_RULE}
    if invalid is not None:
        messages["invalid"] = invalid
    return {**kwargs, "error_messages": {**messages, **kwargs.get("error_messages", {})}}


class _Checked(fields.String):
    """A string checked by :meth:`rule` (``None`` when valid); returned unchanged."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_strict(kwargs))

    def rule(self, value: object) -> str | None:
        raise NotImplementedError

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        rule = primitives.STRING_RULE if type(value) is not str else self.rule(value)
        if rule is not None:
            raise ValidationError(rule)
        return value


class Text(_Checked):
    """A JSON string; with ``blank=False`` it must hold more than white space."""

    def __init__(self, *, blank: bool = True, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.blank = blank

    def rule(self, value: object) -> str | None:
        return None if self.blank or str(value).strip() else BLANK_RULE


class URI(_Checked):
    def rule(self, value: object) -> str | None:
        return primitives.check_iri(value)


class Identifier(_Checked):
    def rule(self, value: object) -> str | None:
        return None if _IDENTIFIER_RE.fullmatch(str(value)) else IDENTIFIER_RULE


class DateTime(_Checked):
    def rule(self, value: object) -> str | None:
        return primitives.check_timestamp_iso8601(value)


class Date(_Checked):
    def rule(self, value: object) -> str | None:
        text = str(value)
        if _DATE_RE.fullmatch(text) is None:
            return DATE_RULE
        try:
            date.fromisoformat(text)
        except ValueError:
            return DATE_RULE
        return None


class Language(_Checked):
    def rule(self, value: object) -> str | None:
        return primitives.check_language_tag(value)


class AssociationType(_Checked):
    def rule(self, value: object) -> str | None:
        ok = value in ASSOCIATION_TYPES or _EXT_RE.fullmatch(str(value))
        return None if ok else ASSOCIATION_TYPE_RULE


class TargetType(_Checked):
    def rule(self, value: object) -> str | None:
        return None if value == "CASE" or _EXT_RE.fullmatch(str(value)) else TARGET_TYPE_RULE


class CaseVersion(_Checked):
    def rule(self, value: object) -> str | None:
        return None if value == "1.1" else CASE_VERSION_RULE


class Int32(fields.Integer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_strict(kwargs))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if type(value) is not int or not -(2**31) <= value < 2**31:
            raise ValidationError(INTEGER_RULE)
        return value


class Number(fields.Float):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_strict(kwargs))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not primitives.is_finite_number(value):
            raise ValidationError(NUMBER_RULE)
        return value


class Extensions(fields.Dict):
    """CASE 1.1 `extensions`: any JSON object, its contents unchecked."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**_strict(kwargs, OBJECT_RULE))

    def _deserialize(self, value: Any, attr: Any, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, dict):
            raise ValidationError(OBJECT_RULE)
        return value


class Array(fields.List[Any]):
    def __init__(self, inner: fields.Field[Any], **kwargs: Any) -> None:
        super().__init__(inner, **_strict(kwargs, ARRAY_RULE))


class One(fields.Nested):
    def __init__(self, nested: type[Schema], **kwargs: Any) -> None:
        super().__init__(nested, **_strict(kwargs))


def _many(schema: type[Schema], **kwargs: Any) -> Array:
    return Array(One(schema), **kwargs)


def _texts(**kwargs: Any) -> Array:
    return Array(Text(), **kwargs)


# --------------------------------------------------------------------------- objects


class CaseSchema(Schema):
    """A strict CASE object: unknown properties and nulls are errors."""

    class Meta:
        unknown = RAISE

    def __init__(self, **kwargs: Any) -> None:
        # Read by Schema.__init__, which merges it over marshmallow's own wording.
        self.error_messages = {"type": OBJECT_RULE, "unknown": UNKNOWN_RULE}
        super().__init__(**kwargs)


class LinkURISchema(CaseSchema):
    title = Text(required=True)
    identifier = Identifier(required=True)
    uri = URI(required=True)


class LinkGenURISchema(CaseSchema):
    """A node link (originNodeURI, destinationNodeURI): any identifier, not only a UUID."""

    title = Text(required=True)
    identifier = Text(blank=False, required=True)
    uri = URI(required=True)
    target_type = TargetType(data_key="targetType")


class _Object(CaseSchema):
    """What every CF object has: its identifier, uri, change time and extensions."""

    identifier = Identifier(required=True)
    uri = URI(required=True)
    last_change = DateTime(data_key="lastChangeDateTime", required=True)
    extensions = Extensions()


class CFDocumentSchema(_Object):
    """CFPckgDocument: the root of a framework."""

    creator = Text(required=True)
    title = Text(blank=False, required=True)
    version = Text(blank=False, required=True)
    official_source_url = URI(data_key="officialSourceURL")
    publisher = Text()
    description = Text()
    subject = _texts()
    subject_uri = _many(LinkURISchema, data_key="subjectURI")
    language = Language()
    adoption_status = Text(data_key="adoptionStatus")
    status_start_date = Date(data_key="statusStartDate")
    status_end_date = Date(data_key="statusEndDate")
    license_uri = One(LinkURISchema, data_key="licenseURI")
    notes = Text()
    framework_type = Text(data_key="frameworkType")
    case_version = CaseVersion(data_key="caseVersion")


class CFItemSchema(_Object):
    """CFPckgItem: one competency, or a grouping of them."""

    full_statement = Text(blank=False, data_key="fullStatement", required=True)
    alternative_label = Text(data_key="alternativeLabel")
    item_type = Text(data_key="CFItemType")
    human_coding_scheme = Text(data_key="humanCodingScheme")
    list_enumeration = Text(data_key="listEnumeration")
    abbreviated_statement = Text(data_key="abbreviatedStatement")
    concept_keywords = _texts(data_key="conceptKeywords")
    concept_keywords_uri = One(LinkURISchema, data_key="conceptKeywordsURI")
    notes = Text()
    subject = _texts()
    subject_uri = _many(LinkURISchema, data_key="subjectURI")
    language = Language()
    education_level = _texts(data_key="educationLevel")
    item_type_uri = One(LinkURISchema, data_key="CFItemTypeURI")
    license_uri = One(LinkURISchema, data_key="licenseURI")
    status_start_date = Date(data_key="statusStartDate")
    status_end_date = Date(data_key="statusEndDate")


class CFAssociationSchema(_Object):
    """CFPckgAssociation: a typed, directed link from an origin node to a destination."""

    association_type = AssociationType(data_key="associationType", required=True)
    sequence_number = Int32(data_key="sequenceNumber")
    origin = One(LinkGenURISchema, data_key="originNodeURI", required=True)
    destination = One(LinkGenURISchema, data_key="destinationNodeURI", required=True)
    grouping = One(LinkURISchema, data_key="CFAssociationGroupingURI")
    notes = Text()


class _Definition(_Object):
    title = Text(required=True)
    description = Text()


class CFConceptSchema(_Definition):
    keywords = Text()
    hierarchy_code = Text(data_key="hierarchyCode", required=True)


class CFSubjectSchema(_Definition):
    hierarchy_code = Text(data_key="hierarchyCode", required=True)


class CFLicenseSchema(_Definition):
    license_text = Text(data_key="licenseText", required=True)


class CFItemTypeSchema(_Definition):
    description = Text(required=True)
    hierarchy_code = Text(data_key="hierarchyCode", required=True)
    type_code = Text(data_key="typeCode")


class CFAssociationGroupingSchema(_Definition):
    pass


class CFDefinitionsSchema(CaseSchema):
    concepts = _many(CFConceptSchema, data_key="CFConcepts")
    subjects = _many(CFSubjectSchema, data_key="CFSubjects")
    licenses = _many(CFLicenseSchema, data_key="CFLicenses")
    item_types = _many(CFItemTypeSchema, data_key="CFItemTypes")
    groupings = _many(CFAssociationGroupingSchema, data_key="CFAssociationGroupings")
    extensions = Extensions()


class CFRubricCriterionLevelSchema(_Object):
    description = Text()
    quality = Text()
    score = Number()
    feedback = Text()
    position = Int32()
    criterion_id = Identifier(data_key="rubricCriterionId")


class CFRubricCriterionSchema(_Object):
    category = Text()
    description = Text()
    item_uri = One(LinkURISchema, data_key="CFItemURI")
    weight = Number()
    position = Int32()
    rubric_id = Identifier(data_key="rubricId")
    levels = _many(CFRubricCriterionLevelSchema, data_key="CFRubricCriterionLevels")


class CFRubricSchema(_Object):
    title = Text()
    description = Text()
    criteria = _many(CFRubricCriterionSchema, data_key="CFRubricCriteria")


class CFPackageSchema(CaseSchema):
    """CFPackage: a framework, whole. Its rules across objects are in the module notes."""

    document = One(CFDocumentSchema, data_key="CFDocument", required=True)
    items = _many(CFItemSchema, data_key="CFItems")
    associations = _many(CFAssociationSchema, data_key="CFAssociations")
    definitions = One(CFDefinitionsSchema, data_key="CFDefinitions")
    rubrics = _many(CFRubricSchema, data_key="CFRubrics")
    extensions = Extensions()

    @validates_schema(pass_original=True)
    def _check_references(self, data: Any, original: Any, **kwargs: Any) -> None:
        violation = package_violation(original)
        if violation is not None:
            path, rule = violation
            raise ValidationError(nest(path, rule))


_PACKAGE: Final = CFPackageSchema()


def validate_package(data: object) -> None:
    """Check a parsed JSON value as a CASE package that cpdfolio can keep.

    ``data`` is not modified.

    :raises SchemaViolation: for the first rule ``data`` breaks, with its path
        (``"CFAssociations[2].originNodeURI.identifier"``) and rule.
    """
    if not isinstance(data, dict):
        raise SchemaViolation("", "must be a JSON object (a CASE CFPackage)")
    errors = _PACKAGE.validate(data)
    if errors:
        raise SchemaViolation(*first_violation(errors))
