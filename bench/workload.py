"""Realistic statements for benchmarks: a council's learners, courses and programmes."""

from __future__ import annotations

import random
import uuid
from collections import deque
from typing import Any

VERBS = [
    "http://adlnet.gov/expapi/verbs/completed",
    "http://adlnet.gov/expapi/verbs/attempted",
    "http://adlnet.gov/expapi/verbs/passed",
    "http://adlnet.gov/expapi/verbs/failed",
    "http://adlnet.gov/expapi/verbs/experienced",
    "http://adlnet.gov/expapi/verbs/attended",
    "http://adlnet.gov/expapi/verbs/commented",
    "https://w3id.org/xapi/adl/verbs/logged-in",
]


class Workload:
    """Deterministic statement factory: `agents` people, `activities` courses in programmes."""

    def __init__(self, *, seed: int = 7, agents: int = 2000, activities: int = 1000) -> None:
        self.rng = random.Random(seed)
        self.agents = agents
        self.activities = activities
        # (statement id, agent) of recent statements, for voiding
        self.recent: deque[tuple[str, int]] = deque(maxlen=1000)
        self.registrations = [
            str(uuid.UUID(int=self.rng.getrandbits(128), version=4)) for _ in range(5000)
        ]

    def agent_mbox(self, i: int) -> str:
        return f"mailto:learner{i}@council{i % 22}.example.gov.uk"

    def activity_id(self, i: int) -> str:
        return f"https://learning.example.gov.uk/course/{i}"

    def programme_id(self, i: int) -> str:
        return f"https://learning.example.gov.uk/programme/{i % 40}"

    def statement(self) -> dict[str, Any]:
        """Mostly completions and attempts; one in a hundred voids an earlier statement, so
        queries meet StatementRefs (Communication 2.1.3) as they would in a live store."""
        rng = self.rng
        if self.recent and rng.random() < 0.01:
            target, agent = self.recent[rng.randrange(len(self.recent))]
            self.recent.remove((target, agent))
            return {
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "actor": {"objectType": "Agent", "mbox": self.agent_mbox(agent)},
                "verb": {
                    "id": "http://adlnet.gov/expapi/verbs/voided",
                    "display": {"en-GB": "voided"},
                },
                "object": {"objectType": "StatementRef", "id": target},
            }
        a = rng.randrange(self.agents)
        actor = {"objectType": "Agent", "name": f"Learner {a}", "mbox": self.agent_mbox(a)}
        statement = self.course_statement(actor, rng.randrange(self.activities), cohort=a % 12)
        self.recent.append((statement["id"], a))
        return statement

    def course_statement(
        self, actor: dict[str, Any], c: int, *, cohort: int, verbs: list[str] = VERBS
    ) -> dict[str, Any]:
        """A statement of `actor` on course `c` (about 1 KB): score, duration, context."""
        rng = self.rng
        verb = rng.choice(verbs)
        return {
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "actor": actor,
            "verb": {"id": verb, "display": {"en-GB": verb.rsplit("/", 1)[-1]}},
            "object": {
                "objectType": "Activity",
                "id": self.activity_id(c),
                "definition": {
                    "name": {"en-GB": f"Course {c}", "cy": f"Cwrs {c}"},
                    "description": {"en-GB": "A module of the management development programme"},
                    "type": "http://adlnet.gov/expapi/activities/course",
                },
            },
            "result": {
                "score": {
                    "scaled": round(rng.random(), 2),
                    "raw": rng.randrange(101),
                    "min": 0,
                    "max": 100,
                },
                "success": rng.random() > 0.2,
                "completion": True,
                "duration": f"PT{rng.randrange(1, 5)}H{rng.randrange(60)}M",
            },
            "context": {
                "registration": rng.choice(self.registrations),
                "contextActivities": {
                    "parent": [{"id": self.programme_id(c)}],
                    "grouping": [{"id": "https://learning.example.gov.uk/catalogue"}],
                },
                "platform": "Council LMS",
                "language": "en-GB",
                "extensions": {"https://learning.example.gov.uk/ext/cohort": f"2026-{cohort}"},
            },
            "timestamp": (
                f"2026-{rng.randrange(1, 12):02d}-{rng.randrange(1, 28):02d}T10:00:00.000Z"
            ),
        }
