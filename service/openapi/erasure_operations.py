"""The erasure of the owner's portfolio (DELETE /api/me) for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from schemas.erasure import ErasureConfirmSchema, ErasureSchema
from service.openapi import portfolio_operations
from service.openapi.components import Doc
from service.openapi.portfolio_operations import Operation, _operation


def _erase(doc: Doc) -> dict[str, Any]:
    operation = _operation(
        doc,
        "Erase the owner's portfolio, and everything about them, for good",
        status="200",
        response=ErasureSchema,
        body=ErasureConfirmSchema,
    )
    operation["description"] = (
        "GDPR erasure. Deletes the owner's record, documents, keys, identities, sessions"
        " and tokens, every statement that names one of their identities (and the"
        " voiding statements aimed at those), the attachments and State and Agent"
        " Profile documents only they used, and the mentoring sessions and one-time"
        " links that name them. Other people's records that witnessed a deleted"
        " statement get a 'statement-erased' entry. What stays is a tombstone with no"
        " personal data, whose counts are the answer. The token stops working.\n\n"
        "Confirm with your login e-mail in `confirm`. Without it, or with another, the"
        " 400 names `confirm` and offers the export first: its body has"
        ' `"export": "/api/me/bundle"`, where the portfolio can be downloaded before it'
        " is erased. Voiding a statement is not erasure: a voided statement stays stored."
    )
    return operation


# /api/me is described in portfolio_operations (GET); this adds its DELETE, keeping the GET
# when the tables are merged into service.openapi.operations.OPERATIONS.
OPERATIONS: dict[str, dict[str, Operation]] = {
    "/api/me": {**portfolio_operations.OPERATIONS["/api/me"], "DELETE": _erase},
}
