"""Timestamps are returned in UTC with the sender's precision (Data 4.5)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.clock import datetime_to_us, format_us, parse_iso8601, parse_stored
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
        ("0999-05-01T10:00:00+02:00", "0999-05-01T08:00:00Z"),
        ("0001-01-01T05:00:00.25+05:00", "0001-01-01T00:00:00.25Z"),
        ("9999-12-31T18:59:59-05:00", "9999-12-31T23:59:59Z"),
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


@pytest.mark.parametrize(
    "value", ["0000-01-01T00:00:00Z", "9999-12-31T23:00:00-05:00", "0001-01-01T01:00:00+05:00"]
)
def test_instants_outside_the_years_0001_to_9999_in_utc_raise_value_error(value: str) -> None:
    """Not OverflowError, and not a crash: the caller answers 400 (the schemas do first)."""
    with pytest.raises(ValueError, match="0001-9999"):
        to_utc(value)


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(999, 12, 31, 23, 59, 59, 5, tzinfo=UTC), "0999-12-31T23:59:59.000005Z"),
        (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00.000000Z"),
        (datetime(2026, 3, 1, 12, tzinfo=UTC), "2026-03-01T12:00:00.000000Z"),
        (datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC), "9999-12-31T23:59:59.999999Z"),
    ],
)
def test_stored_format_always_has_a_four_digit_year(moment: datetime, text: str) -> None:
    """String order is time order only with fixed-width years (portfolio.clock)."""
    assert format_us(datetime_to_us(moment)) == text
    assert parse_stored(text) == datetime_to_us(moment)
