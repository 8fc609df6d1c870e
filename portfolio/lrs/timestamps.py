"""Statement timestamps in UTC (Data 4.5.s1.b6: "The LRS SHOULD* return the Timestamp in UTC
timezone"; xAPI 2.0.0: an offset other than UTC is converted by the LRS).

The conversion keeps the fraction of a second digit for digit: a sender's precision is
theirs (Data 4.5.s1.b3, at least milliseconds must be preserved), so the fraction is
carried over as text, never through a float. A timestamp without an offset is read as UTC.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta

# Extended (2026-03-01T12:00:00.5+01:00) or basic (20260301T120000,5+0100) ISO 8601, as the
# schemas accept them; the fraction may use a comma.
_TIMESTAMP = re.compile(
    r"(?P<date>\d{4}-?\d{2}-?\d{2})T(?P<time>\d{2}:?\d{2}(?::?\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?"
    r"(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def to_utc(value: str) -> str:
    """The same instant in UTC, `YYYY-MM-DDTHH:MM:SS[.fraction]Z`.

    Raises ValueError when `value` is not a timestamp, or the instant is outside the years
    0001-9999 in UTC (the schemas refuse both first, naming the property).
    """
    match = _TIMESTAMP.match(value)
    if match is None:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}")
    date = match["date"].replace("-", "")
    time = match["time"].replace(":", "") + "00"
    try:
        year, month, day = int(date[:4]), int(date[4:6]), int(date[6:8])
        hour, minute, second = int(time[:2]), int(time[2:4]), int(time[4:6])
        moment = datetime(year, month, day, hour, minute, second)
        offset = match["offset"]
        if offset and offset not in ("Z", "z"):
            sign = 1 if offset[0] == "+" else -1
            digits = offset[1:].replace(":", "")
            hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
            moment -= sign * timedelta(hours=hours, minutes=minutes)
    except (ValueError, OverflowError) as exc:  # year 0000, or an offset past 0001/9999
        raise ValueError(f"not a timestamp in the years 0001-9999 (UTC): {value!r}") from exc
    fraction = f".{match['fraction']}" if match["fraction"] else ""
    # isoformat, not strftime("%Y"): glibc writes years before 1000 without zero padding
    # ("999-05-01"), which is not ISO 8601 and breaks string order.
    return moment.isoformat(timespec="seconds") + fraction + "Z"
