"""Statement timestamps in UTC (Data 4.5.s1.b6: "The LRS SHOULD* return the Timestamp in UTC
timezone"; xAPI 2.0.0: an offset other than UTC is converted by the LRS).

The conversion keeps the fraction of a second digit for digit: a sender's precision is
theirs (Data 4.5.s1.b3, at least milliseconds must be preserved), so the fraction is
carried over as text, never through a float. A timestamp without an offset is read as UTC.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

# Extended (2026-03-01T12:00:00.5+01:00) or basic (20260301T120000,5+0100) ISO 8601, as the
# schemas accept them; the fraction may use a comma.
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})T(?P<time>\d{2}:?\d{2}(?::?\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?"
    r"(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def to_utc(value: str) -> str:
    """The same instant in UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; raises ValueError."""
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    date = match["date"].replace("-", "")
    time = match["time"].replace(":", "")
    if len(time) == 4:
        time += "00"
    moment = datetime.strptime(date + time, "%Y%m%d%H%M%S")
    offset = match["offset"]
    if offset and offset not in ("Z", "z"):
        sign = 1 if offset[0] == "+" else -1
        digits = offset[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        moment -= sign * timedelta(hours=hours, minutes=minutes)
    fraction = f".{match['fraction']}" if match["fraction"] else ""
    return moment.replace(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"
