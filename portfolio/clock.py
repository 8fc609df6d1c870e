"""Time as the LRS keeps it.

`stored` times are fixed-width UTC strings with microseconds ("2026-11-23T10:00:00.123456Z"),
so that string order is time order in every adapter and a keyset cursor can compare them
directly. Microseconds (not milliseconds) let the store keep `stored` strictly increasing
under bursts of small writes without running ahead of the wall clock.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NAIVE_EPOCH = datetime(1970, 1, 1)


def now_us() -> int:
    """Microseconds since the Unix epoch, from the wall clock."""
    return time.time_ns() // 1000


def format_us(us: int) -> str:
    """The stored-format string of a microsecond timestamp (years 0001-9999).

    isoformat, not strftime("%Y"): glibc writes years before 1000 without zero padding
    ("999-12-31"), which is not ISO 8601 and sorts after "2026-..." as a string, so a
    `since` of year 999 would find nothing. Raises OverflowError outside those years.
    """
    moment = _NAIVE_EPOCH + timedelta(microseconds=us)
    return moment.isoformat(timespec="microseconds") + "Z"


def parse_stored(value: str) -> int:
    """Microseconds of a stored-format string (the inverse of format_us)."""
    return datetime_to_us(datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC))


def datetime_to_us(value: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = value.astimezone(UTC) - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def parse_iso8601(value: str) -> datetime:
    """An aware datetime from an ISO 8601 timestamp; raises ValueError when it is not one.

    A timestamp without an offset is read as UTC (Data 4.5: the LRS may interpret it so).
    """
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def utc_now_iso() -> str:
    """The current time in stored format."""
    return format_us(now_us())


def http_date(stored: str) -> str:
    """An HTTP-date (RFC 9110) for a stored-format time, for Last-Modified headers."""
    us = parse_stored(stored)
    return format_datetime(datetime.fromtimestamp(us / 1_000_000, tz=UTC), usegmt=True)
