"""The one exception tree of the domain.

`service/errors.py` maps these classes to HTTP responses in one place; nothing in the
domain knows about status codes. Each error carries a stable `slug` for the JSON body.
"""

from __future__ import annotations


class CpdfolioError(Exception):
    """Base of every error the domain raises on purpose."""

    slug = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(CpdfolioError):
    """Input breaks a rule. `path` names the field (dotted, with [i] for list items)."""

    slug = "invalid"

    def __init__(self, message: str, *, path: str | None = None, rule: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.rule = rule or message


class InvalidStatement(InvalidInput):
    """A statement breaks the xAPI grammar or an LRS rule (always a 400, never a 422)."""

    slug = "invalid statement"


class LimitExceeded(InvalidInput):
    """A configured limit was exceeded (depth, string length, batch size)."""

    slug = "limit exceeded"


class PayloadTooLarge(LimitExceeded):
    """The request body is larger than the configured maximum."""

    slug = "payload too large"


class AuthenticationRequired(CpdfolioError):
    """No credentials, or credentials that do not match a live client."""

    slug = "unauthorized"


class Forbidden(CpdfolioError):
    """The credentials are good but do not allow this action."""

    slug = "forbidden"


class NotFound(CpdfolioError):
    slug = "not found"


class Conflict(CpdfolioError):
    """The request contradicts what is stored (e.g. a statement id reused for other content)."""

    slug = "conflict"


class PreconditionFailed(CpdfolioError):
    slug = "precondition failed"


class StorageUnavailable(CpdfolioError):
    """The store cannot be reached or is locked beyond the configured wait."""

    slug = "storage unavailable"
