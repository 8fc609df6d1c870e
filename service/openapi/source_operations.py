"""The owner's sources (/api/me/sources) for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from schemas.exchange import SourceInputSchema, SourceSchema, SyncSummarySchema
from service.openapi.components import Doc
from service.openapi.portfolio_operations import Operation, _operation


def _list(doc: Doc) -> dict[str, Any]:
    return _operation(
        doc, "The remote LRSs you have connected", status="200", response=SourceSchema, many=True
    )


def _connect(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "Connect a remote LRS that holds your learning",
        status="201",
        response=SourceSchema,
        body=SourceInputSchema,
        statuses=("409",),
    )
    operation["description"] = (
        "The remote is signed in to first: an endpoint that cannot be reached or"
        " credentials it refuses are a 400 naming `endpoint`. The secret is kept sealed"
        " under the instance's secret and never shown again. Syncs ask only for your"
        " identities, and keep only statements about them. The endpoint must be on the"
        " public internet, or on a host the administrator allows"
        " (CPDFOLIO_OWNER_SOURCE_HOSTS); otherwise it is a 400 naming `endpoint`."
    )
    return operation


def _disconnect(doc: Doc) -> dict[str, Any]:
    return _operation(
        doc,
        "Disconnect a source (what was pulled from it stays)",
        status="204",
        statuses=("404",),
    )


def _sync(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "Pull new statements from a source now",
        status="200",
        response=SyncSummarySchema,
        statuses=("404",),
    )
    operation["description"] = (
        "Answered when the run ends. Statements already here are counted as duplicates;"
        " one stored here with other content is listed in `conflicts` and left as it is."
        " 502 when the remote failed part-way: what was pulled before is kept, and the"
        " next run continues from there."
    )
    operation["responses"]["502"] = {
        "description": "The remote LRS failed; the summary says how far the run got",
        "content": operation["responses"]["200"]["content"],
    }
    return operation


OPERATIONS: dict[str, dict[str, Operation]] = {
    "/api/me/sources": {"GET": _list, "POST": _connect},
    "/api/me/sources/{name}": {"DELETE": _disconnect},
    "/api/me/sources/{name}/sync": {"POST": _sync},
}

PATH_PARAMETERS = {"name": "The name of one of your sources."}
