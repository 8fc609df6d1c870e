"""The Statement resource, /xapi/statements (Communication 2.1). Thin: the rules live in
portfolio.lrs; this module turns HTTP into calls and results into responses."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import orjson
from flask import Response, current_app, g, request, url_for

from portfolio.clients import (
    authority_for,
    may_define,
    may_void_others,
    require_statement_write,
    statement_read_scope,
)
from portfolio.clock import http_date
from portfolio.errors import InvalidInput, InvalidStatement
from portfolio.lrs.attachments import AttachmentPart, attachment_objects
from portfolio.lrs.ingest import IngestLimits, StatementIngest, Submitter
from portfolio.lrs.limits import JsonLimits
from portfolio.lrs.params import parse_uuid, single_values
from portfolio.lrs.query import SingleRequest
from portfolio.lrs.retrieve import StatementReader, render_result, render_statement
from portfolio.lrs.routing import ForwardRouter
from portfolio.people.witness import witness_new_statements
from portfolio.storage.base import NewStatement, StatementRecord
from service.auth import current_client
from service.config import Settings
from service.json import json_response, raw_json_response
from service.people import services
from service.store import get_store
from service.xapi import bp
from service.xapi.multipart import multipart_response, parse_multipart

log = logging.getLogger(__name__)


def _settings() -> Settings:
    settings: Settings = current_app.config["CPDFOLIO"]
    return settings


def _ingest() -> StatementIngest:
    s = _settings()
    return StatementIngest(
        get_store().statements,
        limits=IngestLimits(
            max_batch_statements=s.max_batch_statements,
            max_attachment_bytes=s.max_attachment_bytes,
            json=JsonLimits(max_depth=s.max_json_depth, max_string_length=s.max_string_length),
        ),
        on_stored=_witness,
        router=ForwardRouter(get_store()),
    )


def _witness(statements: Sequence[NewStatement]) -> None:
    """Witness the statements in the records of the people they are about.

    The statements are stored whatever happens here: a failure is logged, and linking
    or a later run witnesses what was missed (portfolio.people.witness)."""
    try:
        witness_new_statements(get_store(), services().accounts.instance_key, statements)
    except Exception:
        log.exception("witnessing %d statements failed; they are stored", len(statements))


def _reader() -> StatementReader:
    return StatementReader(
        get_store().statements,
        secret_key=current_app.config["CPDFOLIO_SECRET"],
        max_limit=_settings().max_query_limit,
    )


def _submitter() -> Submitter:
    client = current_client()
    require_statement_write(client)
    return Submitter(
        client_key=client.key,
        authority=authority_for(client, home_page=_settings().public_url),
        may_void_others=may_void_others(client),
        may_define=may_define(client),
    )


def _statement_body() -> tuple[object, list[AttachmentPart] | None]:
    """The statements sent, and the attachment parts of a multipart/mixed request (None
    for application/json). Raises InvalidStatement for another type or bad JSON."""
    mimetype = request.mimetype
    if mimetype == "multipart/mixed":
        statements, parts = parse_multipart(
            request.get_data(cache=False), request.headers.get("Content-Type", "")
        )
        return _parse_json(statements), parts
    if mimetype != "application/json":
        # Communication 3.2.s3.b6: the content type must match the content.
        raise InvalidStatement(
            "statements must be sent as application/json or multipart/mixed,"
            f" not {mimetype or 'no content type'}",
            path="Content-Type",
            rule="must be application/json or multipart/mixed",
        )
    return _parse_json(request.get_data(cache=False)), None


def _parse_json(body: bytes) -> object:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidStatement(
            f"the body is not valid UTF-8 JSON: {exc}", path="", rule="must be valid JSON"
        ) from None


def _params() -> dict[str, str]:
    """The query parameters, each given once (a repeated one is a 400 naming it)."""
    return single_values(request.args.to_dict(flat=False))


def _only_params(*allowed: str) -> dict[str, str]:
    params = _params()
    for name in params:
        if name not in allowed:
            raise InvalidInput(
                f"unknown parameter {name!r} for {request.method} /statements",
                path=name,
                rule="is not a parameter of this request",
            )
    return params


@bp.put("/statements")
def put_statement() -> Response:
    submitter = _submitter()
    statement_id = _only_params("statementId").get("statementId")
    if statement_id is None:
        raise InvalidInput(
            "PUT /statements needs the statementId parameter",
            path="statementId",
            rule="is required",
        )
    data, parts = _statement_body()
    _ingest().put(
        parse_uuid(statement_id, "statementId"),
        data,
        submitter=submitter,
        version=g.xapi_version,
        parts=parts,
    )
    return Response(status=204)


@bp.post("/statements")
def post_statements() -> Response:
    submitter = _submitter()
    _only_params()
    data, parts = _statement_body()
    ids = _ingest().post(data, submitter=submitter, version=g.xapi_version, parts=parts)
    return json_response(ids)


@bp.get("/statements")
def get_statements() -> Response:
    client = current_client()
    mine_only = statement_read_scope(client)
    reader = _reader()
    languages = [(value, quality) for value, quality in request.accept_languages]
    parsed = reader.parse(
        _params(), client_key=client.key, mine_only=mine_only, version=g.xapi_version
    )
    # Taken before reading, so no statement in the answer is newer than the header says.
    consistent_through = reader.consistent_through()
    if isinstance(parsed, SingleRequest):
        record = reader.get_one(parsed, mine_of=client.key if mine_only else None)
        body = render_statement(
            record,
            parsed.output,
            languages,
            version=g.xapi_version,
            definitions=reader.canonical_definitions([record], parsed.output),
        )
        response = _statement_response(body, [record] if parsed.output.attachments else None)
        response.headers["Last-Modified"] = http_date(record.stored)
    else:
        result = reader.query(parsed, client_key=client.key)
        more_url = (
            url_for("xapi.get_statements", more=result.more) if result.more is not None else None
        )
        body = render_result(
            result,
            more_url=more_url,
            languages=languages,
            version=g.xapi_version,
            definitions=reader.canonical_definitions(result.page.statements, result.output),
        )
        response = _statement_response(
            body, list(result.page.statements) if result.output.attachments else None
        )
        if result.page.statements:
            newest = max(r.stored for r in result.page.statements)
            response.headers["Last-Modified"] = http_date(newest)
    response.headers["X-Experience-API-Consistent-Through"] = consistent_through
    return response


def _statement_response(body: bytes, with_attachments: list[StatementRecord] | None) -> Response:
    """JSON, or multipart/mixed with the statements' attachment data when
    attachments=true (Communication 2.1.3.s2.b6-b7)."""
    if with_attachments is None:
        return raw_json_response(body)
    wanted = [
        str(attachment["sha2"]).lower()
        for record in with_attachments
        for _path, attachment in attachment_objects(orjson.loads(record.body), "")
    ]
    found = get_store().statements.get_attachments(wanted) if wanted else {}
    return multipart_response(
        body, [found[sha2] for sha2 in dict.fromkeys(wanted) if sha2 in found]
    )
