"""The rating scale of a Professional Development Analysis, and who reviewers are.

The scale runs from 1 to 4, as both axes of the training-needs grid in seed 000 ("Good
Practice in Member and Officer Development", activity 1) run from 1 (low) to 4 (high).
The seeds give no descriptor for each point, so the wording is ours, assembled from
their phrases: a skills audit helps people "identify their own strengths and development
areas" and "use their skills to support other members/committees in their areas of
expertise" (seed 001, the Member Development Strategy workplan), so that they have "the
skills and knowledge needed to fulfil their roles effectively" (seed 001); the Standard
is "a template ... to determine strengths and identify development needs" (seed 004).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from schemas.assessment import RELATIONSHIPS

__all__ = ["RELATIONSHIPS", "SCALE", "ScalePoint", "scale_json"]


@dataclass(frozen=True)
class ScalePoint:
    rating: int
    label: str
    descriptor: str


SCALE: Final = (
    ScalePoint(
        1,
        "Significant development need",
        "Little or no knowledge or experience of this yet: a significant development need.",
    ),
    ScalePoint(
        2,
        "Developing",
        "Some knowledge and experience, but more development is needed to fulfil the role"
        " effectively: a development area.",
    ),
    ScalePoint(
        3,
        "Effective",
        "The knowledge and skills to fulfil the role effectively: a strength.",
    ),
    ScalePoint(
        4,
        "Expert",
        "An area of expertise: able to support and develop others in it.",
    ),
)


def scale_json() -> list[dict[str, object]]:
    """The scale as shown to owners and reviewers."""
    return [
        {"rating": point.rating, "label": point.label, "descriptor": point.descriptor}
        for point in SCALE
    ]
