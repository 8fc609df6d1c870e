"""Limits on incoming JSON, checked before validation so a hostile body costs little."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from portfolio.errors import LimitExceeded


@dataclass(frozen=True)
class JsonLimits:
    max_depth: int = 32
    max_string_length: int = 32 * 1024


def check_json_limits(value: Any, limits: JsonLimits) -> None:
    """Raise LimitExceeded naming the first place that nests too deep or holds too long a string.

    The walk is iterative (a recursive one would meet Python's recursion limit first) and
    builds no paths: it runs on every statement, and only a body that breaks a limit pays
    for finding where.
    """
    if _within_limits(value, limits):
        return
    path, too_deep = _locate(value, limits, "", 1)
    if too_deep:
        raise LimitExceeded(
            f"JSON nests deeper than {limits.max_depth} levels",
            path=path,
            rule=f"must not nest deeper than {limits.max_depth} levels (max_json_depth)",
        )
    raise LimitExceeded(
        f"a string is longer than {limits.max_string_length} characters",
        path=path,
        rule=f"must be at most {limits.max_string_length} characters (max_string_length)",
    )


def _within_limits(value: Any, limits: JsonLimits) -> bool:
    """True when nothing breaks a limit. Walks one nesting level at a time, so depth needs
    no bookkeeping per node; parsed JSON holds exact dicts, lists and strs, so `type() is`
    suffices and is cheaper than isinstance on the ingest path."""
    max_len = limits.max_string_length
    if type(value) is str:
        return len(value) <= max_len
    level = [value] if type(value) in (dict, list) else []
    for _depth in range(limits.max_depth):
        deeper: list[Any] = []
        for node in level:
            children = node.values() if type(node) is dict else node
            if type(node) is dict:
                for key in node:
                    if len(key) > max_len:
                        return False
            for child in children:
                kind = type(child)
                if kind is str:
                    if len(child) > max_len:
                        return False
                elif kind is dict or kind is list:
                    deeper.append(child)
        if not deeper:
            return True
        level = deeper
    return not level


def _locate(node: Any, limits: JsonLimits, path: str, depth: int) -> tuple[str, bool]:
    """The path of the first breach, depth-first in document order; (path, too_deep)."""
    stack: list[tuple[Any, str, int]] = [(node, path, depth)]
    while stack:
        current, where, level = stack.pop()
        if isinstance(current, str):
            if len(current) > limits.max_string_length:
                return where, False
            continue
        if not isinstance(current, dict | list):
            continue
        if level > limits.max_depth:
            return where, True
        if isinstance(current, dict):
            children = [
                (child, f"{where}.{key}" if where else str(key)) for key, child in current.items()
            ]
            for key in current:
                if len(key) > limits.max_string_length:
                    return (f"{where}.{key[:40]}…" if where else key[:40] + "…"), False
        else:
            children = [(child, f"{where}[{i}]") for i, child in enumerate(current)]
        for child, child_path in reversed(children):
            stack.append((child, child_path, level + 1))
    return path, False
