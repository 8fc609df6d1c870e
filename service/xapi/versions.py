"""X-Experience-API-Version negotiation (Communication 3.3).

"1.0" and any "1.0.x" are served as 1.0.3; every response names the latest patch of the
version served. A missing or unsupported version is a 400.
"""

from __future__ import annotations

import re

from portfolio.errors import InvalidInput

HEADER = "X-Experience-API-Version"
LATEST_1_0 = "1.0.3"
SUPPORTED = (LATEST_1_0,)

_V1_0 = re.compile(r"1\.0(\.\d+)?")


def negotiate(value: str | None) -> str:
    """The version to serve for a request header value; raises InvalidInput (400)."""
    if value is None or not value.strip():
        raise InvalidInput(
            f"the {HEADER} header is required",
            path=HEADER,
            rule=f"is required (supported: {', '.join(SUPPORTED)})",
        )
    value = value.strip()
    if _V1_0.fullmatch(value):
        return LATEST_1_0
    raise InvalidInput(
        f"xAPI version {value!r} is not supported",
        path=HEADER,
        rule=f"must be one of: 1.0, 1.0.x (served as {LATEST_1_0})",
    )
