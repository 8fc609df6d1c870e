"""check_json_limits: raises exactly when a limit is broken, naming a place that breaks it."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.errors import LimitExceeded
from portfolio.lrs.limits import JsonLimits, check_json_limits

LIMITS = JsonLimits(max_depth=4, max_string_length=8)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=20,
)


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    return 0


def longest(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        keys = max((len(k) for k in value), default=0)
        return max([keys, *(longest(v) for v in value.values())])
    if isinstance(value, list):
        return max((longest(v) for v in value), default=0)
    return 0


def resolve(value: Any, path: str) -> Any:
    """Follow a path of the form a.b[0].c (keys in these tests hold no dots or brackets)."""
    node = value
    for part in path.replace("[", ".[").split("."):
        if not part:
            continue
        if part.startswith("["):
            node = node[int(part[1:-1])]
        elif part.endswith("…"):
            return node
        else:
            node = node[part]
    return node


@given(json_values)
def test_raises_exactly_when_a_limit_is_broken(value: Any) -> None:
    broken = depth(value) > LIMITS.max_depth or longest(value) > LIMITS.max_string_length
    if not broken:
        check_json_limits(value, LIMITS)
        return
    with pytest.raises(LimitExceeded):
        check_json_limits(value, LIMITS)


safe_keys = st.text(alphabet="abcdef", min_size=1, max_size=6)
safe_values = st.recursive(
    st.integers() | st.text(alphabet="xyz", max_size=12),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(safe_keys, children, max_size=3)
    ),
    max_leaves=20,
)


@given(safe_values)
def test_the_path_names_a_place_that_breaks_the_limit(value: Any) -> None:
    try:
        check_json_limits(value, LIMITS)
    except LimitExceeded as exc:
        node = resolve(value, exc.path or "")
        if "deeper" in exc.message:
            assert isinstance(node, dict | list)
        else:
            assert longest(node) > LIMITS.max_string_length


def test_a_body_nested_far_beyond_the_recursion_limit_is_refused_cleanly() -> None:
    value: Any = "leaf"
    for _ in range(50_000):
        value = [value]
    with pytest.raises(LimitExceeded) as caught:
        check_json_limits(value, LIMITS)
    assert caught.value.path == "[0][0][0][0]"
