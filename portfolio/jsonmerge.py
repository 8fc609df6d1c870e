"""JSON merge (RFC 7396 semantics without deletion): objects merge key by key, recursively;
anything else is replaced by the newer value.

Used for canonical Activity definitions, where it does what Communication 2.5 asks of an
LRS assembling a definition from many statements: language maps gain languages, and a
newer name in a language replaces the older one. Statements cannot contain null, so the
RFC's "null deletes" never arises.
"""

from __future__ import annotations

from typing import Any


def merge(target: Any, patch: Any) -> Any:
    """`patch` merged into `target` (neither is modified)."""
    if not isinstance(patch, dict) or not isinstance(target, dict):
        return patch
    merged = dict(target)
    for key, value in patch.items():
        merged[key] = merge(target.get(key), value) if key in target else value
    return merged
