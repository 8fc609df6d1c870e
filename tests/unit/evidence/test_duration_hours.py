"""Hours of learning read from a statement's ISO 8601 duration (portfolio.evidence.rules)."""

from __future__ import annotations

import pytest

from portfolio.evidence.rules import MAX_HOURS, duration_hours


@pytest.mark.parametrize(
    ("duration", "hours"),
    [
        ("PT1H30M", 1.5),
        ("PT90M", 1.5),
        ("PT45S", 0.0125),
        ("P1DT2H", 26.0),
        ("P2W", 336.0),
        ("P0.5W", 84.0),
        ("P366D", float(MAX_HOURS)),
        ("P367D", None),  # longer than any one statement of learning: hours unknown
        ("P9999999D", None),
        ("P1M", None),  # months and years vary in length
        ("P1Y", None),
        ("P1W2D", None),  # the week form stands alone
        ("1H", None),
        (90, None),
        (None, None),
    ],
)
def test_hours_of_a_duration(duration: object, hours: float | None) -> None:
    assert duration_hours(duration) == (None if hours is None else pytest.approx(hours))
