"""The bodies of the Professional Development Analysis (schemas.assessment) and its
record kinds in schemas.record."""

from __future__ import annotations

import pytest

from portfolio.assessment.scale import SCALE
from schemas.assessment import ReviewSubmitSchema, SelfRatingsSchema, load
from schemas.errors import SchemaViolation
from schemas.record import BODY_SCHEMAS


@pytest.mark.parametrize(
    ("data", "path", "rule"),
    [
        (
            {"ratings": [{"item": "u", "rating": 1}, {"item": "v", "rating": 5}]},
            "ratings[1].rating",
            "must be a whole number from 1 to 4",
        ),
        (
            {"ratings": [{"item": "u", "rating": "3"}]},
            "ratings[0].rating",
            "must be a whole number from 1 to 4",
        ),
        (
            {"ratings": [{"item": "u", "rating": False}]},
            "ratings[0].rating",
            "must be a whole number from 1 to 4",
        ),
        ({"ratings": [{"item": "", "rating": 2}]}, "ratings[0].item", "must not be empty"),
        (
            {"ratings": [{"item": "u", "rating": 2, "comment": ""}]},
            "ratings[0].comment",
            "must be 1 to 2000 characters",
        ),
        ({}, "ratings", "is required"),
        ([], "", "must be a JSON object"),
    ],
)
def test_bad_ratings_name_the_path_with_list_indexes(data: object, path: str, rule: str) -> None:
    with pytest.raises(SchemaViolation) as caught:
        load(SelfRatingsSchema, data)
    assert (caught.value.path, caught.value.rule) == (path, rule)


def test_a_self_assessment_may_be_empty_but_a_review_rates_something() -> None:
    assert load(SelfRatingsSchema, {"ratings": []}) == {"ratings": []}
    with pytest.raises(SchemaViolation) as caught:
        load(ReviewSubmitSchema, {"ratings": []})
    assert caught.value.path == "ratings"


def test_the_scale_runs_1_to_4_with_a_descriptor_each() -> None:
    assert [point.rating for point in SCALE] == [1, 2, 3, 4]
    assert all(point.label and point.descriptor for point in SCALE)


def test_the_analysis_kinds_are_in_the_record_with_who_may_sign_them() -> None:
    """Deliverable 7: 360° ratings are signed by the instance on the reviewer's behalf."""
    roles = {
        kind: BODY_SCHEMAS[kind][1]
        for kind in (
            "analysis-started",
            "self-assessed",
            "reviewer-invited",
            "reviewer-rated",
            "analysis-closed",
        )
    }
    assert roles == {
        "analysis-started": {"owner"},
        "self-assessed": {"owner"},
        "reviewer-invited": {"owner"},
        "reviewer-rated": {"instance"},
        "analysis-closed": {"owner"},
    }
    # A review rates something; what was kept verifies whatever the API's limits become.
    schema = BODY_SCHEMAS["reviewer-rated"][0]
    body = {"analysis": "a", "reviewer": "r", "relationship": "peer", "ratings": []}
    assert "ratings" in schema.validate(body)
    body["ratings"] = [{"item": "u", "rating": 4, "comment": "x" * 5000}]
    assert schema.validate(body) == {}
