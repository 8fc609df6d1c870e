"""The parameters of the document resources, parsed and checked (Communication 2.3, 2.6, 2.7).

Values are validated "to the same standards required for values of the same types in
Statements" (Data 2.2.s4): `activityId` is an IRI, `agent` an Agent or Identified Group in
JSON, `registration` a UUID, `since` a timestamp. An unknown parameter, a known one in the
wrong case or one given twice is a 400 naming it (Communication 3.2.s3.b7-b8).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from portfolio.errors import InvalidInput
from portfolio.lrs.params import (
    parse_agent,
    parse_iri,
    parse_timestamp,
    parse_uuid,
    single_values,
    unknown_parameter,
)
from portfolio.storage.base import DocumentKey, DocumentKind, DocumentScope

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Resource:
    """One of the three document resources: its path and which parameters it takes."""

    kind: DocumentKind
    path: str
    id_param: str
    activity: bool
    agent: bool
    registration: bool
    # Whether DELETE without the id deletes every document in the scope (State only).
    delete_all: bool

    def params(self, method: str) -> frozenset[str]:
        """The parameters this resource accepts for a method."""
        names = {self.id_param}
        if self.activity:
            names.add("activityId")
        if self.agent:
            names.add("agent")
        if self.registration:
            names.add("registration")
        if method in READ_METHODS:
            names.add("since")
        return frozenset(names)


STATE = Resource(
    kind=DocumentKind.STATE,
    path="/activities/state",
    id_param="stateId",
    activity=True,
    agent=True,
    registration=True,
    delete_all=True,
)
ACTIVITY_PROFILE = Resource(
    kind=DocumentKind.ACTIVITY_PROFILE,
    path="/activities/profile",
    id_param="profileId",
    activity=True,
    agent=False,
    registration=False,
    delete_all=False,
)
AGENT_PROFILE = Resource(
    kind=DocumentKind.AGENT_PROFILE,
    path="/agents/profile",
    id_param="profileId",
    activity=False,
    agent=True,
    registration=False,
    delete_all=False,
)


@dataclass(frozen=True)
class DocumentRequest:
    """A request parsed: the scope, and the document id when one was given."""

    scope: DocumentScope
    document_id: str | None
    # Stored-format time; only lists use it (a single-document GET accepts and ignores it).
    since: str | None = None

    @property
    def key(self) -> DocumentKey:
        """The key of the one document named; only for requests that name one."""
        if self.document_id is None:
            raise ValueError("this request names no single document")
        return DocumentKey(
            kind=self.scope.kind,
            document_id=self.document_id,
            activity_id=self.scope.activity_id,
            agent=self.scope.agent,
            registration=self.scope.registration,
        )


def parse_request(
    resource: Resource, params: Mapping[str, Sequence[str]], *, method: str, version: str
) -> DocumentRequest:
    """Parse a request's query parameters; raises InvalidInput naming the parameter.

    `params` maps each name to every value given for it (a parameter given twice is a
    400). The id is required except on GET (a list) and on State's DELETE (delete all).
    """
    allowed = resource.params(method)
    for name in params:
        if name not in allowed:
            raise unknown_parameter(name, allowed, f"{method} {resource.path}")
    values = single_values(params)

    document_id = values.get(resource.id_param)
    id_optional = method in READ_METHODS or (method == "DELETE" and resource.delete_all)
    if document_id is None and not id_optional:
        raise _required(resource.id_param, resource, method)
    if document_id is not None and not document_id:
        raise InvalidInput(
            f"{resource.id_param} must not be empty",
            path=resource.id_param,
            rule="must be a non-empty string",
        )

    activity_id = None
    if resource.activity:
        if "activityId" not in values:
            raise _required("activityId", resource, method)
        activity_id = parse_iri(values["activityId"], "activityId")
    agent = None
    if resource.agent:
        if "agent" not in values:
            raise _required("agent", resource, method)
        agent = parse_agent(values["agent"], version=version)[1]
    registration = None
    if "registration" in values:
        registration = parse_uuid(values["registration"], "registration")
    since = parse_timestamp(values["since"], "since") if "since" in values else None

    return DocumentRequest(
        scope=DocumentScope(
            kind=resource.kind, activity_id=activity_id, agent=agent, registration=registration
        ),
        document_id=document_id,
        since=since,
    )


def _required(name: str, resource: Resource, method: str) -> InvalidInput:
    return InvalidInput(
        f"{method} {resource.path} needs the {name} parameter", path=name, rule="is required"
    )
