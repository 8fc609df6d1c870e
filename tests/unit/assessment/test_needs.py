"""The rules of the Professional Development Analysis (portfolio.assessment.needs): the
summary of ratings, the development-need rule, the skill need and provision levels of
seed 000's grid, and placing items on it."""

from __future__ import annotations

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.assessment.needs import (
    Reason,
    development_need,
    gap,
    is_red,
    place,
    priority,
    provision_level,
    skill_need,
    summarise,
)

ratings = st.integers(min_value=1, max_value=4)
maybe_rating = st.none() | ratings
others_ratings = st.lists(ratings, max_size=12)


def test_a_summary_has_the_count_exact_mean_and_range() -> None:
    summary = summarise([2, 3, 3])
    assert summary is not None
    assert (summary.count, summary.mean, summary.lowest, summary.highest) == (
        3,
        Fraction(8, 3),
        2,
        3,
    )
    assert summary.to_json() == {"count": 3, "mean": 2.67, "min": 2, "max": 3}
    assert summarise([]) is None


@pytest.mark.parametrize(
    ("self_rating", "others", "reasons"),
    [
        (2, [3, 3], [Reason.SELF_LOW]),
        (3, [2, 2], [Reason.OTHERS_LOW]),
        (3, [2, 3], []),  # others' mean 2.5: above 2
        (4, [2, 3], [Reason.SELF_ABOVE_OTHERS]),  # a gap of exactly 1.5
        (4, [3, 2, 3], []),  # a gap of 4/3
        (1, [4, 4], [Reason.SELF_LOW, Reason.SELF_BELOW_OTHERS]),
        (1, [2, 1], [Reason.SELF_LOW, Reason.OTHERS_LOW]),
        (4, [2, 2], [Reason.OTHERS_LOW, Reason.SELF_ABOVE_OTHERS]),
        (None, [1], [Reason.OTHERS_LOW]),
        (None, [3, 4], []),
        (2, [], [Reason.SELF_LOW]),
        (3, [], []),
        (None, [], []),
    ],
)
def test_the_development_need_rule(
    self_rating: int | None, others: list[int], reasons: list[Reason]
) -> None:
    assert list(development_need(self_rating, summarise(others))) == reasons


@pytest.mark.parametrize(
    ("self_rating", "others", "level"),
    [
        (None, [], None),  # nobody rated it: not on the grid
        (3, [3, 4], 1),  # not a need
        (4, [2, 3], 2),  # a need by the gap alone: the lower view is 2.5
        (2, [3, 3], 3),
        (3, [2, 2], 3),
        (4, [2, 1], 4),  # others' mean 1.5, at most 1.5: high
        (1, [4, 4], 4),
        (None, [1], 4),
        (2, [1, 1, 2], 4),  # others' mean 4/3
    ],
)
def test_the_skill_need_is_1_to_4(self_rating: int | None, others: list[int], level: int) -> None:
    assert skill_need(self_rating, summarise(others)) == level


@pytest.mark.parametrize(("activities", "level"), [(0, 1), (1, 2), (2, 3), (3, 4), (40, 4)])
def test_provision_level_counts_the_activities_on_offer(activities: int, level: int) -> None:
    assert provision_level(activities) == level


def test_a_negative_number_of_activities_is_an_error() -> None:
    with pytest.raises(ValueError, match="not negative"):
        provision_level(-1)


def test_the_red_area_is_high_skill_need_and_little_provision() -> None:
    """Seed 000: 'Red area represents skills/knowledge for development - high skill need
    and little accessible provision'."""
    red = {(s, p) for s in range(1, 5) for p in range(1, 5) if is_red(s, p)}
    assert red == {(3, 1), (4, 1), (3, 2), (4, 2)}


def test_the_grid_has_16_cells_red_corner_first() -> None:
    cells = place([("a", 4, 1), ("b", 1, 4), ("c", 4, 1)])
    assert [(c.skill_need, c.provision) for c in cells[:5]] == [
        (4, 1),
        (3, 1),
        (2, 1),
        (1, 1),
        (4, 2),
    ]
    assert len(cells) == 16
    assert cells[0].items == ("a", "c") and cells[0].red
    assert cells[-1].items == ("b",) and not cells[-1].red
    with pytest.raises(ValueError, match="no cell"):
        place([("x", 5, 1)])


def test_priority_puts_the_red_area_first_then_higher_need_then_less_provision() -> None:
    levels = [(1, 1), (2, 1), (3, 4), (4, 4), (3, 2), (4, 2), (4, 1)]
    assert sorted(levels, key=lambda lv: priority(*lv)) == [
        (4, 1),
        (4, 2),
        (3, 2),
        (4, 4),
        (3, 4),
        (2, 1),
        (1, 1),
    ]


# ---------------------------------------------------------------------- properties


@given(maybe_rating, others_ratings.flatmap(lambda xs: st.tuples(st.just(xs), st.permutations(xs))))
def test_the_rule_ignores_the_order_of_others_ratings(
    self_rating: int | None, others: tuple[list[int], list[int]]
) -> None:
    given_order, shuffled = others
    assert development_need(self_rating, summarise(given_order)) == development_need(
        self_rating, summarise(shuffled)
    )
    assert skill_need(self_rating, summarise(given_order)) == skill_need(
        self_rating, summarise(shuffled)
    )


@given(maybe_rating, others_ratings)
def test_a_need_is_exactly_a_skill_need_of_2_or_more(
    self_rating: int | None, others: list[int]
) -> None:
    summary = summarise(others)
    level = skill_need(self_rating, summary)
    reasons = development_need(self_rating, summary)
    if self_rating is None and not others:
        assert level is None and not reasons
        return
    assert level in (1, 2, 3, 4)
    assert bool(reasons) == (level >= 2)
    if self_rating is not None and self_rating <= 2:
        assert level >= 3  # a low self rating is never only a gap


@given(ratings, st.lists(ratings, min_size=1, max_size=12))
def test_the_summary_and_gap_agree_with_plain_arithmetic(
    self_rating: int, others: list[int]
) -> None:
    summary = summarise(others)
    assert summary is not None
    assert summary.lowest <= summary.mean <= summary.highest
    assert summary.mean * len(others) == sum(others)
    difference = gap(self_rating, summary)
    assert difference == self_rating - Fraction(sum(others), len(others))


@given(st.lists(st.tuples(st.text(max_size=3), st.integers(1, 4), st.integers(1, 4)), max_size=40))
def test_every_placed_item_is_in_exactly_one_cell(
    placements: list[tuple[str, int, int]],
) -> None:
    cells = place(placements)
    assert sorted((c.skill_need, c.provision) for c in cells) == [
        (s, p) for s in range(1, 5) for p in range(1, 5)
    ]
    assert sum(len(c.items) for c in cells) == len(placements)
    for name, skill, provision in placements:
        cell = next(c for c in cells if (c.skill_need, c.provision) == (skill, provision))
        assert name in cell.items
