"""The rules of a CASE package across its objects (see schemas.case for the whole list).

Each check takes a package that has passed the per-object checks of
`schemas.case.CFPackageSchema` and returns the first violation, as a path (property names
and list indexes) and a rule, or None:

* every `identifier` and every `uri` is unique within the package;
* both ends of every association name the CFDocument or an item, by identifier, with that
  node's uri;
* `isChildOf` associations form a tree under the CFDocument: the origin is an item, an item
  has at most one parent, and there is no cycle.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

__all__ = ["IS_CHILD_OF", "Path", "Violation", "nest", "package_violation"]

IS_CHILD_OF: Final = "isChildOf"

Path = tuple[str | int, ...]
Violation = tuple[Path, str]


def _text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def nest(path: Path, rule: str) -> dict[Any, Any]:
    """marshmallow's nested message for one rule at ``path`` (integer keys for indexes)."""
    node: Any = [rule]
    for part in reversed(path):
        node = {part: node}
    return dict(node)


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def _objects(package: Mapping[str, Any]) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """Every CF object of the package that has an identifier and a uri, with its path."""
    yield ("CFDocument",), package["CFDocument"]
    for key in ("CFItems", "CFAssociations"):
        for i, obj in enumerate(_list(package.get(key))):
            yield (key, i), obj
    definitions = package.get("CFDefinitions") or {}
    for key in ("CFConcepts", "CFSubjects", "CFLicenses", "CFItemTypes", "CFAssociationGroupings"):
        for i, obj in enumerate(_list(definitions.get(key))):
            yield ("CFDefinitions", key, i), obj
    for i, rubric in enumerate(_list(package.get("CFRubrics"))):
        yield ("CFRubrics", i), rubric
        for j, criterion in enumerate(_list(rubric.get("CFRubricCriteria"))):
            path: Path = ("CFRubrics", i, "CFRubricCriteria", j)
            yield path, criterion
            for k, level in enumerate(_list(criterion.get("CFRubricCriterionLevels"))):
                yield (*path, "CFRubricCriterionLevels", k), level


def _unique(package: Mapping[str, Any]) -> Violation | None:
    seen: dict[tuple[str, str], Path] = {}
    for path, obj in _objects(package):
        for key, value in (("identifier", obj["identifier"].lower()), ("uri", obj["uri"])):
            first = seen.setdefault((key, value), path)
            if first != path:
                return (*path, key), f"duplicates the {key} of {_text(first)}"
    return None


def _ends(package: Mapping[str, Any]) -> Violation | None:
    """Both ends of each association name the document or an item, with its uri."""
    nodes: dict[str, tuple[Path, str]] = {
        package["CFDocument"]["identifier"].lower(): (("CFDocument",), package["CFDocument"]["uri"])
    }
    for i, item in enumerate(_list(package.get("CFItems"))):
        nodes[item["identifier"].lower()] = (("CFItems", i), item["uri"])
    for i, association in enumerate(_list(package.get("CFAssociations"))):
        for end in ("originNodeURI", "destinationNodeURI"):
            link = association[end]
            node = nodes.get(link["identifier"].lower())
            if node is None:
                return (
                    ("CFAssociations", i, end, "identifier"),
                    "must be the identifier of the CFDocument or of an item in CFItems",
                )
            if link["uri"] != node[1]:
                return (
                    ("CFAssociations", i, end, "uri"),
                    f"must be the uri of {_text(node[0])} ({node[1]})",
                )
    return None


def _tree(package: Mapping[str, Any]) -> Violation | None:
    """isChildOf associations make a tree of the items under the document."""
    items = _list(package.get("CFItems"))
    index = {item["identifier"].lower(): i for i, item in enumerate(items)}
    parent: dict[int, tuple[int | None, int]] = {}  # item -> (parent item or None, association)
    for i, association in enumerate(_list(package.get("CFAssociations"))):
        if association["associationType"] != IS_CHILD_OF:
            continue
        child = index.get(association["originNodeURI"]["identifier"].lower())
        if child is None:
            return (
                ("CFAssociations", i, "originNodeURI"),
                "must be an item: the CFDocument is the root of the isChildOf tree",
            )
        if child in parent:
            first = parent[child][1]
            return (
                ("CFAssociations", i),
                f"gives CFItems[{child}] a second parent (the first is in CFAssociations"
                f"[{first}]): isChildOf associations must form a tree",
            )
        parent[child] = (index.get(association["destinationNodeURI"]["identifier"].lower()), i)
    return _cycle(items, parent)


def _cycle(items: list[Any], parent: Mapping[int, tuple[int | None, int]]) -> Violation | None:
    """The first isChildOf association (by position) on a cycle, if any."""
    state: dict[int, int] = {}  # 1: on the walk being made, 2: known to reach the document
    on_cycle: set[int] = set()
    for start in parent:
        walk: list[int] = []
        node: int | None = start
        while node is not None and node in parent and state.get(node) is None:
            state[node] = 1
            walk.append(node)
            node = parent[node][0]
        if node is not None and state.get(node) == 1:
            on_cycle.update(walk[walk.index(node) :])
        for visited in walk:
            state[visited] = 2
    if not on_cycle:
        return None
    first = min(on_cycle, key=lambda n: parent[n][1])
    chain, node = [first], parent[first][0]
    while node is not None and node != first:
        chain.append(node)
        node = parent[node][0]
    labels = [_label(items[n], n) for n in (*chain, first)]
    return ("CFAssociations", parent[first][1]), (
        f"closes a cycle of isChildOf ({' → '.join(labels)}): isChildOf associations must "
        "form a tree"
    )


def _label(item: Mapping[str, Any], index: int) -> str:
    return str(item.get("humanCodingScheme") or f"CFItems[{index}]")


_RULES: Final[tuple[Callable[[Mapping[str, Any]], Violation | None], ...]] = (
    _unique,
    _ends,
    _tree,
)


def package_violation(package: Mapping[str, Any]) -> Violation | None:
    """The first rule across objects that a package breaks, or None.

    ``package`` must already have passed the per-object checks of :class:`CFPackageSchema`.
    """
    for rule in _RULES:
        violation = rule(package)
        if violation is not None:
            return violation
    return None
