"""The operations that move a portfolio (/api/me/bundle, /api/arrivals), for the OpenAPI
document."""

from __future__ import annotations

from typing import Any

from schemas.bundle import ArrivalSchema
from service.openapi.components import BINARY, Doc, errors
from service.openapi.portfolio_operations import Operation, _operation


def _export(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "The owner's portfolio as a signed bundle (a zip); `cpdfolio verify` checks it",
        status="200",
    )
    operation["responses"]["200"]["content"] = {"application/zip": {"schema": BINARY}}
    return operation


def _arrive(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "Bring a portfolio here from another instance: verified, then imported whole",
        status="201",
        response=ArrivalSchema,
        auth=False,
        statuses=("400", "401", "403", "409", "413"),
    )
    operation["description"] = (
        "No token: the arriving owner has no account here yet. The bundle is verified"
        " offline first; the password must open the owner's key sealed in it. 200 when"
        " this instance has the bundle's record already (nothing changes). The exporting"
        " instance must be one the administrator trusts (CPDFOLIO_TRUSTED_KEYS_DIR), or"
        " this one (a portfolio coming back): otherwise 403, since the arrival links the"
        " identities the bundle claims."
    )
    operation["responses"]["200"] = {
        "description": "Already here: nothing changed",
        "content": operation["responses"]["201"]["content"],
    }
    operation["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["bundle", "password"],
                    "properties": {
                        "bundle": {**BINARY, "description": "the bundle (a zip)"},
                        "password": {"type": "string", "format": "password"},
                    },
                }
            }
        },
    }
    operation["responses"].update(errors("400"))
    return operation


def _keys(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "This instance's public keys, to pin when verifying bundles (--trust)",
        status="200",
        response={
            "type": "object",
            "properties": {
                "instance": {"type": "string"},
                "keys": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "string"},
                            "public": {"type": "string"},
                            "created": {"type": "string"},
                        },
                    },
                },
            },
        },
        auth=False,
    )
    operation["tags"] = ["bundle"]
    return operation


OPERATIONS: dict[str, dict[str, Operation]] = {
    "/.well-known/cpdfolio-keys": {"GET": _keys},
    "/api/me/bundle": {"GET": _export},
    "/api/arrivals": {"POST": _arrive},
}
