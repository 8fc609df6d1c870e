"""The pieces a CsvMapping is built of: Template (a mapping value with `{column}`
placeholders), Field (a value read from one column), VerbSpec, the checks of the mapping
file's values (keys, string), and the functions that turn a row's cells into statement
values (templates rendered, flags, durations, scores). Also the exceptions that carry a
problem back to the mapping: Problem (in the mapping file) and RowProblem (in a row).

Apart from csv_mapping.py so that the CsvMapping class can be read on its own.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote


def has_surrogates(text: str) -> bool:
    return any("\udc80" <= ch <= "\udcff" for ch in text)


class RowProblem(Exception):
    """A row the mapping cannot make a statement of."""

    def __init__(self, path: str, column: str | None, rule: str) -> None:
        super().__init__(rule)
        self.path = path
        self.column = column
        self.rule = rule


class _Blank(Exception):
    def __init__(self, column: str) -> None:
        super().__init__(column)
        self.column = column


class Problem(Exception):
    """A mistake in the mapping file, at `key`."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


@dataclass(frozen=True)
class Template:
    """A mapping value with `{column}` placeholders (`{{` and `}}` are braces). In an IRI,
    a placeholder among other text is percent-encoded (a course code with a space still
    makes a valid IRI); one that is the whole value is taken as it is."""

    key: str
    parts: tuple[str | tuple[str], ...]
    iri: bool = False

    @classmethod
    def parse(cls, key: str, value: object, *, iri: bool = False) -> Template:
        if not isinstance(value, str):
            raise Problem(key, "must be a string")
        parts: list[str | tuple[str]] = []
        position = 0
        for match in _TOKEN.finditer(value):
            if match.start() > position:
                parts.append(value[position : match.start()])
            token = match.group(0)
            if token in ("{{", "}}"):
                parts.append(token[0])
            elif token in ("{", "}"):
                raise Problem(key, f"has an unmatched {token!r} (write {token * 2} for a brace)")
            else:
                name = match.group(1).strip()
                if not name:
                    raise Problem(key, "has an empty placeholder {}")
                parts.append((name,))
            position = match.end()
        if position < len(value):
            parts.append(value[position:])
        if not parts:
            raise Problem(key, "must not be empty")
        return cls(key, tuple(parts), iri)

    @property
    def columns(self) -> tuple[str, ...]:
        return tuple(p[0] for p in self.parts if isinstance(p, tuple))

    @property
    def constant(self) -> str | None:
        if self.columns:
            return None
        return "".join(p for p in self.parts if isinstance(p, str))

    def render(self, row: Mapping[str, str]) -> str:
        """The value for a row; raises _Blank naming an empty column it needs."""
        whole = len(self.parts) == 1
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = row[part[0]].strip()
            if not value:
                raise _Blank(part[0])
            if has_surrogates(value):
                raise RowProblem("", part[0], "is not valid text in the file's encoding")
            out.append(quote(value, safe="-._~") if self.iri and not whole else value)
        return "".join(out)


@dataclass(frozen=True)
class Field:
    """A value read from one column ({"column": ...}), with whether a blank is an error."""

    key: str
    column: str
    required: bool

    def cell(self, row: Mapping[str, str]) -> str | None:
        value = row[self.column].strip()
        if has_surrogates(value):
            raise RowProblem(self.key, self.column, "is not valid text in the file's encoding")
        if not value:
            if self.required:
                raise RowProblem(self.key, self.column, f"column {self.column} is empty")
            return None
        return value


@dataclass(frozen=True)
class VerbSpec:
    fixed: dict[str, Any] | None = None
    column: str | None = None
    table: dict[str, dict[str, Any]] = field(default_factory=dict)


DURATION_UNITS = {"hours": 3600, "minutes": 60, "seconds": 1}
_CLOCK = re.compile(r"(\d+):([0-5]?\d)(?::([0-5]?\d(?:\.\d+)?))?")


def render_required(template: Template, row: Mapping[str, str], path: str) -> str:
    try:
        return template.render(row)
    except _Blank as exc:
        raise RowProblem(path, exc.column, f"column {exc.column} is empty") from None
    except RowProblem as exc:
        raise RowProblem(path, exc.column, exc.rule) from None


def render_optional(template: Template, row: Mapping[str, str], path: str) -> str | None:
    try:
        return template.render(row)
    except _Blank:
        return None
    except RowProblem as exc:
        raise RowProblem(path, exc.column, exc.rule) from None


def make_flag(row: Mapping[str, str], field: Field, true: set[str], false: set[str]) -> bool | None:
    text = field.cell(row)
    if text is None:
        return None
    word = text.casefold()
    if word in true:
        return True
    if word in false:
        return False
    raise RowProblem(
        field.key,
        field.column,
        f"{text!r} is neither true ({', '.join(sorted(true))}) nor false"
        f" ({', '.join(sorted(false))})",
    )


def make_duration(row: Mapping[str, str], field: Field, unit: str) -> str | None:
    text = field.cell(row)
    if text is None:
        return None
    if unit == "iso":
        return text  # checked by the statement schema
    if unit == "h:mm":
        match = _CLOCK.fullmatch(text)
        if match is None:
            raise RowProblem(field.key, field.column, f"{text!r} is not a duration h:mm[:ss]")
        hours, minutes, seconds = match.groups()
        total = Decimal(hours) * 3600 + Decimal(minutes) * 60 + Decimal(seconds or 0)
    else:
        try:
            amount = Decimal(text)
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite() or amount < 0:
            raise RowProblem(
                field.key, field.column, f"{text!r} is not a number of {unit} (0 or more)"
            )
        total = amount * DURATION_UNITS[unit]
    return _iso_duration(total)


def _iso_duration(seconds: Decimal) -> str:
    """An ISO 8601 duration, to the hundredth of a second xAPI keeps (Data 4.6)."""
    seconds = seconds.quantize(Decimal("0.01"))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{int(hours)}H"
    if minutes:
        text += f"{int(minutes)}M"
    if secs or text == "PT":
        text += f"{format(secs.normalize(), 'f')}S"
    return text


def number(text: str) -> int | float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not math.isfinite(value):
        return None
    return plain(value)


def bound_text(value: float | None) -> str:
    return "…" if value is None else str(plain(value))


def plain(value: float) -> int | float:
    """3.0 as 3: a whole number is written without a fraction."""
    return int(value) if float(value).is_integer() else value


def keys(
    value: object, key: str, allowed: Sequence[str], *, required: Sequence[str] = ()
) -> dict[str, Any]:
    """The mapping file's object at `key`, checked to have only `allowed` keys and all the
    `required` ones; raises Problem."""
    where = f"{key}." if key else ""
    if not isinstance(value, dict):
        raise Problem(key or "(the mapping)", "must be a JSON object")
    for name in value:
        if name not in allowed:
            raise Problem(
                f"{where}{name}", f"is not a mapping key (allowed here: {', '.join(allowed)})"
            )
    for name in required:
        if name not in value:
            raise Problem(f"{where}{name}", "is required")
    return value


def string(value: object, key: str) -> str:
    """The mapping file's non-empty string at `key` (stripped for a column); raises Problem."""
    if not isinstance(value, str) or not value.strip():
        raise Problem(key, "must be a non-empty string")
    return value.strip() if key.endswith("column") else value
