"""What the xAPI resources exchange besides single statements (xAPI-Communication.md 2):
StatementResults, statement id lists, the About object, Person objects, document id lists.

These schemas document the API (the OpenAPI document is generated from them); the LRS
builds these bodies itself and does not load them through these schemas.
"""

from __future__ import annotations

from typing import Any, Final

from marshmallow import RAISE, Schema, fields

from schemas.xapi.agent import AccountSchema
from schemas.xapi.fields import UUID, Extensions, Mailto, OpenID, Sha1, Str, XapiNestedList
from schemas.xapi.statement import StatementSchema, StatementSchemaV2

__all__ = [
    "AboutSchema",
    "AnyVersionStatement",
    "DocumentIdList",
    "PersonSchema",
    "StatementIdList",
    "StatementResultSchema",
]


class AnyVersionStatement(fields.Field[Any]):
    """A Statement in the grammar of the xAPI version the request was served under
    (X-Experience-API-Version: 1.0.3 or 2.0.0).

    apispec cannot infer a union from this field: :attr:`choices` names the schemas. The
    grammars overlap (most statements are valid under both), so the union is an
    ``anyOf``, not a ``oneOf``: :attr:`overlapping`.
    """

    choices: Final = {"1.0.3": StatementSchema, "2.0.0": StatementSchemaV2}
    overlapping: Final = True


class StatementIdList(fields.List[Any]):
    """The ids of the statements stored, in the order posted (Communication 2.1.2)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(UUID(), **kwargs)


class DocumentIdList(fields.List[Any]):
    """The ids of the documents in a scope: a GET on a document resource without the
    document id (Communication 2.3, 2.6, 2.7)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(Str(), **kwargs)


class StatementResultSchema(Schema):
    """A StatementResult (Data 2.5): a page of statements and the link to the next."""

    class Meta:
        unknown = RAISE

    statements = fields.List(AnyVersionStatement(), required=True)
    more = fields.String(
        required=True,
        metadata={
            "description": (
                "A relative IRL to GET for the next page of the same query, or '' when"
                " there is none (Data 2.5). Only the credentials it was issued"
                " to may use it."
            ),
        },
    )


class AboutSchema(Schema):
    """The About object (Communication 2.8): the xAPI versions this LRS serves."""

    class Meta:
        unknown = RAISE

    version = fields.List(
        fields.String(metadata={"enum": ["1.0.3", "2.0.0"]}),
        required=True,
        metadata={"description": "Every xAPI version served (Communication 2.8)."},
    )
    extensions = Extensions()


class PersonSchema(Schema):
    """A Person object (Communication 2.4): what the LRS knows of an Agent, each
    identifier property a list."""

    class Meta:
        unknown = RAISE

    object_type = fields.String(data_key="objectType", required=True, metadata={"enum": ["Person"]})
    name = fields.List(Str())
    mbox = fields.List(Mailto())
    mbox_sha1sum = fields.List(Sha1())
    openid = fields.List(OpenID())
    account = XapiNestedList(AccountSchema)
