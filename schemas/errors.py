"""The one error the schema package raises for bad input."""

from __future__ import annotations

__all__ = ["SchemaViolation"]


class SchemaViolation(Exception):
    """The first rule an input breaks.

    ``path`` locates the offending value with dotted property names and ``[i]`` for list
    items (``"context.contextActivities.parent[0].id"``); it is ``""`` for the root.
    ``rule`` is a short sentence that completes the path, such as ``"is required"`` or
    ``"must be a mailto: IRI"``.
    """

    path: str
    rule: str

    def __init__(self, path: str, rule: str) -> None:
        super().__init__(path, rule)
        self.path = path
        self.rule = rule

    def __str__(self) -> str:
        return f"{self.path or '(root)'} {self.rule}"

    def __repr__(self) -> str:
        return f"SchemaViolation(path={self.path!r}, rule={self.rule!r})"
