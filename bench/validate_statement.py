"""Micro-benchmark: median time to validate one statement, in microseconds.

Runs ``validate_statement`` on a typical statement (actor with mbox and name, verb with
display, Activity object with a definition, result with score, success, completion and
duration, context with registration, parent and grouping context activities, platform,
language and extensions, timestamp) and on a minimal one, several rounds each, and prints
the median per-statement time of the rounds. The target is 150 µs for the typical one.
The last line repeats the typical statement with the caches of valid IRIs and language
tags turned off, as for a stream in which no IRI or tag ever repeats.

    .venv/bin/python bench/validate_statement.py [--rounds 15] [--number 2000]
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import timeit
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from schemas.xapi import primitives, validate_statement

TYPICAL = {
    "id": "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
    "actor": {"objectType": "Agent", "name": "Ada Lovelace", "mbox": "mailto:ada@example.org"},
    "verb": {
        "id": "http://adlnet.gov/expapi/verbs/completed",
        "display": {"en-GB": "completed", "en-US": "completed"},
    },
    "object": {
        "objectType": "Activity",
        "id": "https://cpd.example.org/activities/safeguarding-level-2",
        "definition": {
            "name": {"en-GB": "Safeguarding adults, level 2"},
            "description": {"en-GB": "An e-learning module on safeguarding adults at risk."},
            "type": "http://adlnet.gov/expapi/activities/module",
        },
    },
    "result": {
        "score": {"scaled": 0.85, "raw": 85, "min": 0, "max": 100},
        "success": True,
        "completion": True,
        "duration": "PT1H12M30S",
    },
    "context": {
        "registration": "ec531277-b57b-4c15-8d91-d292c5b2b8f7",
        "contextActivities": {
            "parent": [{"id": "https://cpd.example.org/courses/safeguarding"}],
            "grouping": [{"id": "https://cpd.example.org/programmes/mandatory-training"}],
        },
        "platform": "cpdfolio",
        "language": "en-GB",
        "extensions": {"https://cpd.example.org/extensions/cpd-hours": 1.25},
    },
    "timestamp": "2024-05-18T05:32:34.804Z",
}

MINIMAL = {
    "actor": {"mbox": "mailto:xapi@adlnet.gov"},
    "verb": {"id": "http://adlnet.gov/expapi/verbs/created"},
    "object": {"id": "http://example.adlnet.gov/xapi/example/activity"},
}


def median_microseconds(statement: dict[str, object], *, rounds: int, number: int) -> float:
    """Median over ``rounds`` of the mean time of ``number`` validations, in µs."""
    data = copy.deepcopy(statement)
    validate_statement(data)  # warm up; also proves the statement is valid
    timer = timeit.Timer(lambda: validate_statement(data))
    times = timer.repeat(repeat=rounds, number=number)
    return statistics.median(times) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--number", type=int, default=2000)
    args = parser.parse_args()
    for label, statement in (("typical", TYPICAL), ("minimal", MINIMAL)):
        micros = median_microseconds(statement, rounds=args.rounds, number=args.number)
        print(f"{label}: {micros:.1f} µs per statement (median of {args.rounds} rounds)")
    # Private hooks, touched only here: empty the caches and stop filling them.
    primitives._valid_iris.clear()
    primitives._valid_tags.clear()
    primitives._remember = lambda cache, value: None  # type: ignore[assignment]
    micros = median_microseconds(TYPICAL, rounds=args.rounds, number=args.number)
    print(f"typical, no caches: {micros:.1f} µs per statement (median of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
