"""Results and Scores (xAPI-Data.md 2.4.5).

Readings chosen: ``scaled`` lies in [-1, 1]; when both are present ``min`` is strictly less
than ``max``; ``raw`` lies in [min, max] for whichever bounds are present (2.4.5.1.s2).
An empty ``score`` or ``result`` object is accepted (2.2.s2.b1 is a SHOULD NOT).
"""

from __future__ import annotations

from typing import Any

from schemas.xapi.base import Errors, XapiSchema
from schemas.xapi.fields import Boolean, Duration, Extensions, Number, Str, XapiNested

__all__ = ["ResultSchema", "ScoreSchema"]


class ScoreSchema(XapiSchema):
    """A Score (2.4.5.1)."""

    scaled = Number(minimum=-1.0, maximum=1.0)
    raw = Number()
    min = Number()
    max = Number()

    def check_rules(self, data: dict[str, Any]) -> Errors | None:
        low = data.get("min")
        high = data.get("max")
        if low is not None and high is not None and not low < high:
            return {"min": ["must be less than max"]}
        raw = data.get("raw")
        if raw is not None:
            if low is not None and raw < low:
                return {"raw": ["must be greater than or equal to min"]}
            if high is not None and raw > high:
                return {"raw": ["must be less than or equal to max"]}
        return None


class ResultSchema(XapiSchema):
    """A Result (2.4.5)."""

    score = XapiNested(ScoreSchema)
    success = Boolean()
    completion = Boolean()
    response = Str()
    duration = Duration()
    extensions = Extensions()
