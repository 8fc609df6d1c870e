"""The query parameters of the xAPI resources (xAPI-Communication.md 2), one schema per
set a request may send.

These schemas document the parameters (the OpenAPI document is generated from them); the
LRS parses requests itself (``portfolio.lrs.params`` and its callers), with the same
types: IRIs, UUIDs and timestamps are held "to the same standards required for values
of the same types in Statements" (Data 2.2.s4). An unknown parameter, or a known one in
the wrong case, is a 400 everywhere (Communication 3.2.s3.b7-b8).

A field whose metadata has a ``content_type`` is sent as a document of that type in the
parameter (the ``agent`` parameters are JSON).
"""

from __future__ import annotations

from typing import Final

from marshmallow import RAISE, Schema, fields

from schemas.xapi.agent import AgentOrGroup
from schemas.xapi.fields import IRI, UUID, NonNegativeInteger, OneOf, Str, Timestamp

__all__ = [
    "JSON_CONTENT",
    "ActivitiesParamsSchema",
    "ActivityProfileReadParamsSchema",
    "ActivityProfileWriteParamsSchema",
    "AgentProfileReadParamsSchema",
    "AgentProfileWriteParamsSchema",
    "AgentsParamsSchema",
    "StateDeleteParamsSchema",
    "StateReadParamsSchema",
    "StateWriteParamsSchema",
    "StatementsGetParamsSchema",
    "StatementsPutParamsSchema",
]

JSON_CONTENT: Final = {"content_type": "application/json"}

_AGENT = "An Agent or Identified Group, as JSON; an anonymous Group is refused."
# Document ids are any non-empty string (Communication 2.2).
_ID: Final = {"minLength": 1}
_SINCE = "Only the ids of documents stored or updated after this time."
_ACTIVITY: Final = {"description": "The Activity the documents are about."}
_REGISTRATION: Final = {"description": "The registration the State belongs to."}


def _agent(description: str = _AGENT) -> AgentOrGroup:
    return AgentOrGroup(required=True, metadata={**JSON_CONTENT, "description": description})


class _Params(Schema):
    class Meta:
        unknown = RAISE


class StatementsGetParamsSchema(_Params):
    """GET /statements (Communication 2.1.3): one statement by id, or a filtered query.

    statementId and voidedStatementId exclude each other and every filter (only format
    and attachments may come with them, 2.1.3.s2.b2); ``more`` comes alone.
    """

    statement_id = UUID(
        data_key="statementId", metadata={"description": "The statement with this id."}
    )
    voided_statement_id = UUID(
        data_key="voidedStatementId", metadata={"description": "The voided statement with this id."}
    )
    agent = AgentOrGroup(
        metadata={
            **JSON_CONTENT,
            "description": "Statements whose actor or object is this Agent or Group (as JSON).",
        }
    )
    verb = IRI(metadata={"description": "Statements with this verb id."})
    activity = IRI(metadata={"description": "Statements whose object is this Activity."})
    registration = UUID(metadata={"description": "Statements with this context registration."})
    related_activities = fields.Boolean(
        metadata={"description": "Match `activity` anywhere in the statement, not only object."}
    )
    related_agents = fields.Boolean(
        metadata={"description": "Match `agent` anywhere in the statement, not only actor/object."}
    )
    since = Timestamp(metadata={"description": "Statements stored after this time."})
    until = Timestamp(metadata={"description": "Statements stored at or before this time."})
    limit = NonNegativeInteger(
        metadata={"description": "The most statements per page; 0 means the server's maximum."}
    )
    format = OneOf(
        ("exact", "ids", "canonical"),
        metadata={"description": "How much of each Agent, Group and Activity to return."},
    )
    attachments = fields.Boolean(
        metadata={"description": "Send multipart/mixed with the attachment data."}
    )
    ascending = fields.Boolean(metadata={"description": "Oldest first."})
    more = Str(metadata={"description": "The token of a `more` link; sent alone."})


class StatementsPutParamsSchema(_Params):
    """PUT /statements (Communication 2.1.1)."""

    statement_id = UUID(
        data_key="statementId",
        required=True,
        metadata={"description": "The id of the statement; it must match the body's id."},
    )


class StateReadParamsSchema(_Params):
    """GET /activities/state (Communication 2.3): one document, or the ids without stateId."""

    activity_id = IRI(data_key="activityId", required=True, metadata=_ACTIVITY)
    agent = _agent()
    registration = UUID(metadata=_REGISTRATION)
    state_id = Str(
        data_key="stateId",
        metadata={**_ID, "description": "The document; without it, the ids."},
    )
    since = Timestamp(metadata={"description": _SINCE})


class StateWriteParamsSchema(_Params):
    """PUT or POST /activities/state (Communication 2.3)."""

    activity_id = IRI(data_key="activityId", required=True, metadata=_ACTIVITY)
    agent = _agent()
    registration = UUID(metadata=_REGISTRATION)
    state_id = Str(data_key="stateId", required=True, metadata=_ID)


class StateDeleteParamsSchema(_Params):
    """DELETE /activities/state (Communication 2.3): one document, or every document of
    the activity, agent and registration without stateId."""

    activity_id = IRI(data_key="activityId", required=True, metadata=_ACTIVITY)
    agent = _agent()
    registration = UUID(metadata=_REGISTRATION)
    state_id = Str(
        data_key="stateId",
        metadata={**_ID, "description": "The document; without it, all of them."},
    )


class ActivityProfileReadParamsSchema(_Params):
    """GET /activities/profile (Communication 2.6)."""

    activity_id = IRI(data_key="activityId", required=True, metadata=_ACTIVITY)
    profile_id = Str(
        data_key="profileId",
        metadata={**_ID, "description": "The document; without it, the ids."},
    )
    since = Timestamp(metadata={"description": _SINCE})


class ActivityProfileWriteParamsSchema(_Params):
    """PUT, POST or DELETE /activities/profile (Communication 2.6)."""

    activity_id = IRI(data_key="activityId", required=True, metadata=_ACTIVITY)
    profile_id = Str(data_key="profileId", required=True, metadata=_ID)


class AgentProfileReadParamsSchema(_Params):
    """GET /agents/profile (Communication 2.7)."""

    agent = _agent()
    profile_id = Str(
        data_key="profileId",
        metadata={**_ID, "description": "The document; without it, the ids."},
    )
    since = Timestamp(metadata={"description": _SINCE})


class AgentProfileWriteParamsSchema(_Params):
    """PUT, POST or DELETE /agents/profile (Communication 2.7)."""

    agent = _agent()
    profile_id = Str(data_key="profileId", required=True, metadata=_ID)


class ActivitiesParamsSchema(_Params):
    """GET /activities (Communication 2.5): the canonical Activity object."""

    activity_id = IRI(
        data_key="activityId", required=True, metadata={"description": "The Activity's id."}
    )


class AgentsParamsSchema(_Params):
    """GET /agents (Communication 2.4): the Person object of an Agent."""

    agent = _agent()
