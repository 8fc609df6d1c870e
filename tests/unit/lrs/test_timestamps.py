"""Timestamps are returned in UTC with the sender's precision (Data 4.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.clock import datetime_to_us, parse_iso8601
from portfolio.lrs.timestamps import to_utc


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2013-05-18T05:32:34.804+05:30", "2013-05-18T00:02:34.804Z"),
        ("2026-03-01T12:00:00Z", "2026-03-01T12:00:00Z"),
        ("2026-03-01T12:00:00.123456789-02:00", "2026-03-01T14:00:00.123456789Z"),
        ("2026-12-31T23:30:00-01:00", "2027-01-01T00:30:00Z"),
        ("2026-03-01T12:00:00", "2026-03-01T12:00:00Z"),
        ("20260301T120000,5+0100", "2026-03-01T11:00:00.5Z"),
        ("2026-03-01T12:00+01", "2026-03-01T11:00:00Z"),
    ],
)
def test_to_utc(given: str, expected: str) -> None:
    assert to_utc(given) == expected


@given(
    st.datetimes(min_value=datetime(1900, 1, 2), max_value=datetime(2400, 1, 1)),
    st.integers(min_value=-14 * 60, max_value=14 * 60),
    st.integers(min_value=0, max_value=999_999),
)
def test_the_instant_and_the_fraction_survive(
    moment: datetime, offset_minutes: int, micros: int
) -> None:
    zone = timedelta(minutes=offset_minutes)
    sign = "+" if offset_minutes >= 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    text = (
        moment.replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%S")
        + f".{micros:06d}{sign}{hours:02d}:{minutes:02d}"
    )
    converted = to_utc(text)
    assert converted.endswith(f".{micros:06d}Z")
    expected = (moment.replace(microsecond=micros) - zone).replace(tzinfo=UTC)
    assert datetime_to_us(parse_iso8601(converted)) == datetime_to_us(expected)


def test_garbage_is_refused() -> None:
    with pytest.raises(ValueError):
        to_utc("yesterday")
