"""X-Experience-API-Version negotiation (Communication 3.3; xAPI 2.0.0 beside 1.0.3).

"1.0" and any "1.0.x" are served as 1.0.3, any "2.0.x" as 2.0.0; every response names the
version served. A missing or unsupported version is a 400.
"""

from __future__ import annotations

import re

from portfolio.errors import InvalidInput

HEADER = "X-Experience-API-Version"
V1 = "1.0.3"
V2 = "2.0.0"
LATEST_1_0 = V1
SUPPORTED = (V1, V2)

_V1_0 = re.compile(r"1\.0(\.\d+)?")
_V2_0 = re.compile(r"2\.0\.\d+")


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
        return V1
    if _V2_0.fullmatch(value):
        return V2
    raise InvalidInput(
        f"xAPI version {value!r} is not supported",
        path=HEADER,
        rule="must be 1.0, 1.0.x (served as 1.0.3) or 2.0.x (served as 2.0.0)",
    )


def is_v2(version: str) -> bool:
    return version.startswith("2.")
