"""The document resources: /activities/state, /activities/profile and /agents/profile
(Communication 2.3, 2.6, 2.7). Thin: the rules live in portfolio.lrs.documents; this module
turns HTTP into calls and results into responses. HEAD is answered as GET (Flask)."""

from __future__ import annotations

from flask import Response, g, request

from portfolio.clients import require_profile_access, require_state_access
from portfolio.clock import http_date
from portfolio.lrs.document_params import (
    ACTIVITY_PROFILE,
    AGENT_PROFILE,
    READ_METHODS,
    STATE,
    DocumentRequest,
    Resource,
    parse_request,
)
from portfolio.lrs.documents import Documents, Preconditions, Upload, quoted
from portfolio.storage.base import Document
from service.auth import current_client
from service.json import json_response
from service.store import get_store
from service.xapi import bp

METHODS = ["GET", "PUT", "POST", "DELETE"]


@bp.route(STATE.path, methods=METHODS)
def state() -> Response:
    return _serve(STATE)


@bp.route(ACTIVITY_PROFILE.path, methods=METHODS)
def activity_profile() -> Response:
    return _serve(ACTIVITY_PROFILE)


@bp.route(AGENT_PROFILE.path, methods=METHODS)
def agent_profile() -> Response:
    return _serve(AGENT_PROFILE)


def _serve(resource: Resource) -> Response:
    client = current_client()
    write = request.method not in READ_METHODS
    if resource is STATE:
        require_state_access(client, write=write)
    else:
        require_profile_access(client, write=write)
    parsed = parse_request(
        resource,
        request.args.to_dict(flat=False),
        method=request.method,
        version=g.xapi_version,
    )
    preconditions = Preconditions.from_headers(
        if_match=request.headers.get("If-Match"),
        if_none_match=request.headers.get("If-None-Match"),
    )
    documents = Documents(get_store().documents)
    if request.method in READ_METHODS:
        return _read(documents, parsed, preconditions)
    if request.method == "DELETE":
        if parsed.document_id is None:  # State only: every document of the context
            documents.delete_all(parsed.scope)
        else:
            documents.delete(parsed.key, preconditions, version=g.xapi_version)
        return Response(status=204)
    upload = Upload(content=request.get_data(cache=False), content_type=request.content_type)
    write_one = documents.put if request.method == "PUT" else documents.post
    stored = write_one(parsed.key, upload, preconditions, version=g.xapi_version)
    response = Response(status=204)
    response.headers["ETag"] = quoted(stored.etag)
    return response


def _read(documents: Documents, parsed: DocumentRequest, preconditions: Preconditions) -> Response:
    if parsed.document_id is None:
        listed = documents.ids(parsed.scope, since=parsed.since)
        response = json_response(list(listed.ids))
        if listed.last_modified is not None:
            # Communication 2.2.s6.b2: the newest update among the documents listed.
            response.headers["Last-Modified"] = http_date(listed.last_modified)
        return response
    document = documents.get(parsed.key, preconditions)
    if preconditions.not_modified(document):
        return _with_validators(Response(status=304), document)
    # Exactly the bytes and Content-Type that were stored (Communication 1.5.b1).
    response = Response(document.content, status=200, content_type=document.content_type)
    # Any client may store any type: a text/html or image/svg+xml document opened from
    # this origin would run its script with this origin's rights. The sandbox gives it a
    # unique origin and no scripts, without touching the bytes or the type; nosniff (set
    # for every response) keeps a browser from guessing a type it would execute.
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _with_validators(response, document)


def _with_validators(response: Response, document: Document) -> Response:
    # Communication 3.1.s4.b1-b4 (ETag) and 2.2.s6.b1 (Last-Modified).
    response.headers["ETag"] = quoted(document.etag)
    response.headers["Last-Modified"] = http_date(document.updated)
    return response
