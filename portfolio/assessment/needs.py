"""The arithmetic of a Professional Development Analysis, free of storage: summaries of
ratings, the rule that makes an item a development need, and where an item sits on the
training-needs grid.

The grid is the one of seed 000 ("Good Practice in Member and Officer Development",
activity 1, "Prioritising training needs against existing provision"): a 4 x 4 chart
with "Skill required for role" across, from 1 (low) to 4 (high), and provision down,
from "Little provision already available - therefore high need to develop training
provision" to "Adequate provision already exists, therefore low need to develop
provision". Its "red area represents skills/knowledge for development - high skill need
and little accessible provision". Here the skill need of an item comes from its ratings
(:func:`skill_need`) and its provision from the activities on offer that develop it
(:func:`provision_level`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Final

__all__ = [
    "GAP",
    "LOW",
    "PROVISION_LEVELS",
    "SKILL_NEED_LEVELS",
    "Cell",
    "RatingSummary",
    "Reason",
    "development_need",
    "gap",
    "is_red",
    "place",
    "priority",
    "provision_level",
    "skill_need",
    "summarise",
]

#: A rating (or others' mean) at or below this marks a development need.
LOW: Final = 2
#: A difference between the self rating and others' mean at least this large marks one.
GAP: Final = Fraction(3, 2)

#: The grid's columns: "Skill required for role", 1 (low) to 4 (high) in seed 000.
SKILL_NEED_LEVELS: Final = {
    1: "none: not a development need",
    2: "low: a need only because self and others disagree by 1.5 or more",
    3: "medium: the lower of the self rating and others' mean is above 1.5 and at most 2",
    4: "high: the lower of the self rating and others' mean is 1.5 or below",
}
#: The grid's rows: provision, from little (1) to adequate (4), by the number of distinct
#: activities on offer that develop the item.
PROVISION_LEVELS: Final = {
    1: "none: no activity on offer develops it (little provision)",
    2: "little: one activity on offer",
    3: "some: two activities on offer",
    4: "adequate: three or more activities on offer",
}


class Reason(StrEnum):
    """Why an item is a development need (any one is enough)."""

    SELF_LOW = "self rating 2 or below"
    OTHERS_LOW = "others' mean rating 2 or below"
    SELF_ABOVE_OTHERS = "self rating 1.5 or more above others' mean"
    SELF_BELOW_OTHERS = "self rating 1.5 or more below others' mean"


@dataclass(frozen=True)
class RatingSummary:
    """Ratings of one item by several people: how many, their sum, lowest and highest."""

    count: int
    total: int
    lowest: int
    highest: int

    @property
    def mean(self) -> Fraction:
        """The exact mean (the rules compare exact values; JSON gets it rounded)."""
        return Fraction(self.total, self.count)

    def to_json(self) -> dict[str, object]:
        return {
            "count": self.count,
            "mean": round(float(self.mean), 2),
            "min": self.lowest,
            "max": self.highest,
        }


def summarise(ratings: Iterable[int]) -> RatingSummary | None:
    """The summary of `ratings`; None when there are none."""
    values = list(ratings)
    if not values:
        return None
    return RatingSummary(
        count=len(values), total=sum(values), lowest=min(values), highest=max(values)
    )


def gap(self_rating: int | None, others: RatingSummary | None) -> Fraction | None:
    """Self rating minus others' mean (positive: the owner rates themselves higher);
    None unless both are there."""
    if self_rating is None or others is None:
        return None
    return self_rating - others.mean


def development_need(self_rating: int | None, others: RatingSummary | None) -> tuple[Reason, ...]:
    """Why an item is a development need; empty when it is not one.

    The rule: an item is a need when the self rating is 2 or below, or others' mean is 2
    or below, or the two differ by 1.5 or more either way (a blind spot when the owner
    rates higher, a hidden strength or lack of confidence when lower: both are worth a
    development conversation). A rating that is missing takes no part.
    """
    reasons: list[Reason] = []
    if self_rating is not None and self_rating <= LOW:
        reasons.append(Reason.SELF_LOW)
    if others is not None and others.mean <= LOW:
        reasons.append(Reason.OTHERS_LOW)
    difference = gap(self_rating, others)
    if difference is not None and difference >= GAP:
        reasons.append(Reason.SELF_ABOVE_OTHERS)
    if difference is not None and -difference >= GAP:
        reasons.append(Reason.SELF_BELOW_OTHERS)
    return tuple(reasons)


def skill_need(self_rating: int | None, others: RatingSummary | None) -> int | None:
    """The item's column on the grid, 1-4 (see SKILL_NEED_LEVELS); None when nobody
    rated it.

    1 when it is not a development need; otherwise by the lower of the self rating and
    others' mean (the more cautious view): 4 at 1.5 or below, 3 at 2 or below, and 2
    above that, which only a gap of 1.5 or more can make a need.
    """
    if self_rating is None and others is None:
        return None
    if not development_need(self_rating, others):
        return 1
    views = [Fraction(self_rating)] if self_rating is not None else []
    if others is not None:
        views.append(others.mean)
    lower = min(views)
    if lower <= Fraction(3, 2):
        return 4
    if lower <= LOW:
        return 3
    return 2


def provision_level(activities: int) -> int:
    """The item's row on the grid, 1-4 (see PROVISION_LEVELS), from the number of
    distinct activities on offer that develop it. Raises ValueError below 0."""
    if activities < 0:
        raise ValueError("a number of activities is not negative")
    return min(activities, 3) + 1


def is_red(skill: int, provision: int) -> bool:
    """Whether a cell is in seed 000's red area: "high skill need and little accessible
    provision", read as skill need 3-4 with provision 1-2."""
    return skill >= 3 and provision <= 2


def priority(skill: int, provision: int) -> tuple[bool, int, int]:
    """A sort key, first the most pressing: the red area, then higher skill need, then
    less provision."""
    return (not is_red(skill, provision), -skill, provision)


@dataclass(frozen=True)
class Cell:
    skill_need: int
    provision: int
    items: tuple[str, ...]

    @property
    def red(self) -> bool:
        return is_red(self.skill_need, self.provision)


def place(placements: Sequence[tuple[str, int, int]]) -> list[Cell]:
    """The 16 cells of the grid with the items placed in them, from (item, skill need,
    provision) triples; items keep their order within a cell. The cells run row by row
    from little provision to adequate, each from high skill need to none, so the red
    corner comes first. Raises ValueError for a level outside 1-4."""
    cells: dict[tuple[int, int], list[str]] = {
        (skill, provision): [] for provision in range(1, 5) for skill in range(4, 0, -1)
    }
    for item, skill, provision in placements:
        if (skill, provision) not in cells:
            raise ValueError(f"no cell ({skill}, {provision}) on a 4 x 4 grid")
        cells[(skill, provision)].append(item)
    return [Cell(skill, provision, tuple(items)) for (skill, provision), items in cells.items()]
