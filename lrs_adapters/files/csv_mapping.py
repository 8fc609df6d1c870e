"""CsvMapping: how the columns of a CSV make a statement. The mapping file's value is
checked and compiled when the mapping is made (the `_compile_*` methods), then used to
make one statement of each row (`record`, `statement` and the `_make_*` methods).

The pieces it is built of are in csv_fields.py; reading a mapping file, and the CSV
file itself, in csv_source.py.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import orjson

from lrs_adapters.files.csv_fields import (
    DURATION_UNITS,
    Field,
    Problem,
    RowProblem,
    Template,
    VerbSpec,
    bound_text,
    keys,
    make_duration,
    make_flag,
    number,
    plain,
    render_optional,
    render_required,
    string,
)
from lrs_adapters.files.records import SORTED, MappingInvalid, Record, RowError, uuid5
from schemas.xapi.primitives import check_iri, is_language_tag

_TRUE = ("true", "yes", "y", "1", "pass", "passed", "complete", "completed")
_FALSE = ("false", "no", "n", "0", "fail", "failed", "incomplete")
_IFIS = ("mbox", "mbox_sha1sum", "openid", "account")


class CsvMapping:
    """How the columns of a CSV make a statement (docs/import-file.md, "Mapping file").

    Each row becomes: actor (an e-mail address or an account), verb, the activity, a
    timestamp from a date column, and optionally a score, a duration, success and
    completion, and context.platform. The statement id is a UUID v5 of the values of the
    `id_from` columns (or of the whole statement), so a row imported twice is one
    statement.
    """

    TOP_KEYS = (
        "actor",
        "verb",
        "activity",
        "date",
        "score",
        "duration",
        "success",
        "completion",
        "platform",
        "language",
        "id_from",
        "delimiter",
        "encoding",
        "comment",
    )

    def __init__(self, data: object) -> None:
        """Raises Problem naming the key at fault."""
        spec = keys(data, "", self.TOP_KEYS, required=("actor", "verb", "activity", "date"))
        self.references: list[tuple[str, str]] = []  # (mapping key, column)
        self._paths: dict[str, str] = {}  # statement path → column, for error messages
        self.language = string(spec.get("language", "en"), "language")
        if not is_language_tag(self.language):
            raise Problem("language", f"{self.language!r} is not a language tag (e.g. en-GB)")
        delimiter = spec.get("delimiter", ",")
        if not isinstance(delimiter, str) or len(delimiter) != 1:
            raise Problem("delimiter", "must be one character")
        self.delimiter: str = delimiter
        self.encoding = string(spec.get("encoding", "utf-8-sig"), "encoding")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise Problem("encoding", f"{self.encoding!r} is not a known encoding") from None
        self._actor = self._compile_actor(spec["actor"])
        self._verb = self._compile_verb(spec["verb"])
        self._activity = self._compile_activity(spec["activity"])
        self._date = self._compile_date(spec["date"])
        self._score = self._compile_score(spec.get("score"))
        self._duration = self._compile_duration(spec.get("duration"))
        self._flags = {
            name: self._compile_flag(spec[name], name)
            for name in ("success", "completion")
            if name in spec
        }
        self._platform = (
            self._template("platform", spec["platform"], "context.platform")
            if "platform" in spec
            else None
        )
        self._id_from = self._compile_id_from(spec.get("id_from"))

    # -- compiling

    def _template(self, key: str, value: object, path: str, *, iri: bool = False) -> Template:
        template = Template.parse(key, value, iri=iri)
        for column in template.columns:
            self.references.append((key, column))
            self._paths.setdefault(path, column)
        constant = template.constant
        if iri and constant is not None and check_iri(constant) is not None:
            raise Problem(key, f"{constant!r} is not an absolute IRI")
        return template

    def _column(self, spec: Mapping[str, Any], key: str, path: str) -> Field:
        column = string(spec.get("column"), f"{key}.column")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            raise Problem(f"{key}.required", "must be true or false")
        self.references.append((f"{key}.column", column))
        self._paths.setdefault(path, column)
        return Field(key=path, column=column, required=required)

    def _compile_actor(self, value: object) -> dict[str, Any]:
        spec = keys(value, "actor", ("name", *_IFIS))
        ifis = [k for k in _IFIS if k in spec]
        if len(ifis) != 1:
            raise Problem("actor", "must have exactly one of mbox, mbox_sha1sum, openid or account")
        actor: dict[str, Any] = {}
        if "name" in spec:
            actor["name"] = self._template("actor.name", spec["name"], "actor.name")
        ifi = ifis[0]
        if ifi == "account":
            account = keys(
                spec["account"],
                "actor.account",
                ("homePage", "name"),
                required=("homePage", "name"),
            )
            actor["account"] = {
                "homePage": self._template(
                    "actor.account.homePage",
                    account["homePage"],
                    "actor.account.homePage",
                    iri=True,
                ),
                "name": self._template("actor.account.name", account["name"], "actor.account.name"),
            }
        else:
            actor[ifi] = self._template(f"actor.{ifi}", spec[ifi], f"actor.{ifi}", iri=False)
        return actor

    def _compile_verb(self, value: object) -> VerbSpec:
        if isinstance(value, str):
            return VerbSpec(fixed=self._verb_object("verb", value))
        spec = keys(value, "verb", ("id", "display", "column", "map"))
        if "column" in spec:
            if "id" in spec or "display" in spec:
                raise Problem("verb", "has either id (one verb) or column and map, not both")
            column = string(spec["column"], "verb.column")
            self.references.append(("verb.column", column))
            self._paths.setdefault("verb", column)
            table = spec.get("map")
            if not isinstance(table, dict) or not table:
                raise Problem("verb.map", "must be an object from column values to verbs")
            verbs = {
                str(name).strip().casefold(): self._verb_object(f"verb.map.{name}", verb)
                for name, verb in table.items()
            }
            return VerbSpec(column=column, table=verbs)
        if "id" not in spec:
            raise Problem("verb.id", "is required (or give column and map)")
        return VerbSpec(fixed=self._verb_object("verb", spec))

    def _verb_object(self, key: str, value: object) -> dict[str, Any]:
        if isinstance(value, str):
            value = {"id": value}
        spec = keys(value, key, ("id", "display"), required=("id",))
        verb_id = string(spec["id"], f"{key}.id")
        if check_iri(verb_id) is not None:
            raise Problem(f"{key}.id", f"{verb_id!r} is not an absolute IRI")
        display = spec.get("display")
        if display is None:
            last = re.split(r"[/#]", verb_id.rstrip("/#"))[-1]
            display = {self.language: last} if last else None
        elif isinstance(display, str):
            display = {self.language: display}
        elif not (isinstance(display, dict) and all(isinstance(v, str) for v in display.values())):
            raise Problem(f"{key}.display", "must be a string or a language map")
        return {"id": verb_id, **({"display": display} if display else {})}

    def _compile_activity(self, value: object) -> dict[str, Template]:
        spec = keys(value, "activity", ("id", "name", "description", "type"), required=("id",))
        activity = {"id": self._template("activity.id", spec["id"], "object.id", iri=True)}
        for key in ("name", "description"):
            if key in spec:
                activity[key] = self._template(
                    f"activity.{key}", spec[key], f"object.definition.{key}"
                )
        if "type" in spec:
            activity["type"] = self._template(
                "activity.type", spec["type"], "object.definition.type", iri=True
            )
        return activity

    def _compile_date(self, value: object) -> tuple[Field, str, tzinfo]:
        spec = keys(value, "date", ("column", "format", "timezone"), required=("column",))
        date = self._column({**spec, "required": True}, "date", "timestamp")
        form = string(spec.get("format", "iso"), "date.format")
        if form != "iso" and "%" not in form:
            raise Problem("date.format", 'must be "iso" or a strptime format such as "%d/%m/%Y"')
        name = string(spec.get("timezone", "UTC"), "date.timezone")
        try:
            zone: tzinfo = UTC if name.upper() == "UTC" else ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            raise Problem(
                "date.timezone", f"{name!r} is not a time zone (an IANA name: Europe/London)"
            ) from None
        return date, form, zone

    def _compile_score(self, value: object) -> tuple[Field, float | None, float | None] | None:
        if value is None:
            return None
        spec = keys(value, "score", ("column", "min", "max", "required"), required=("column",))
        bounds = []
        for key in ("min", "max"):
            bound = spec.get(key)
            if bound is not None and (
                isinstance(bound, bool)
                or not isinstance(bound, int | float)
                or not math.isfinite(bound)
            ):
                raise Problem(f"score.{key}", "must be a number")
            bounds.append(bound)
        low, high = bounds
        if high is not None and low is None:
            low = 0
        if low is not None and high is not None and low >= high:
            raise Problem("score.max", "must be greater than score.min")
        return self._column(spec, "score", "result.score"), low, high

    def _compile_duration(self, value: object) -> tuple[Field, str] | None:
        if value is None:
            return None
        spec = keys(value, "duration", ("column", "unit", "required"), required=("column", "unit"))
        unit = spec["unit"]
        units = (*DURATION_UNITS, "h:mm", "iso")
        if unit not in units:
            raise Problem("duration.unit", f"must be one of {', '.join(units)}")
        return self._column(spec, "duration", "result.duration"), unit

    def _compile_flag(self, value: object, name: str) -> bool | tuple[Field, set[str], set[str]]:
        if isinstance(value, bool):
            return value
        spec = keys(value, name, ("column", "true", "false", "required"), required=("column",))
        words = []
        for key, default in (("true", _TRUE), ("false", _FALSE)):
            given = spec.get(key, list(default))
            if not isinstance(given, list) or not all(isinstance(w, str) for w in given):
                raise Problem(f"{name}.{key}", "must be a list of strings")
            words.append({w.strip().casefold() for w in given})
        return self._column(spec, name, f"result.{name}"), words[0], words[1]

    def _compile_id_from(self, value: object) -> tuple[str, ...] | None:
        if value is None:
            return None
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(c, str) and c.strip() for c in value)
        ):
            raise Problem("id_from", "must be a list of column names")
        columns = tuple(c.strip() for c in value)
        self.references.extend(("id_from", c) for c in columns)
        return columns

    # -- using

    def check_header(self, header: Sequence[str], file_name: str) -> None:
        """Raises MappingInvalid when a column the mapping names is not in the header (or
        is named twice there)."""
        names = set(header)
        for key, column in self.references:
            if column not in names:
                shown = ", ".join(h for h in header if h) or "(none)"
                raise MappingInvalid(
                    f"mapping key {key} names the column {column!r}, which {file_name} does"
                    f" not have (its columns: {shown})",
                    path=key,
                    rule="must name a column of the CSV header",
                )
            if header.count(column) > 1:
                raise MappingInvalid(
                    f"{file_name} has two columns named {column!r}, which mapping key {key}"
                    " uses: rename one",
                    path=key,
                    rule="must name a column that appears once in the header",
                )

    def column_of(self, path: str) -> str | None:
        """The column a statement path was made from (the longest known prefix)."""
        while path:
            if path in self._paths:
                return self._paths[path]
            path = path.rpartition(".")[0]
        return None

    def record(self, row: int, values: Mapping[str, str]) -> Record:
        """The statement of one CSV row, or why it has none."""
        try:
            return Record(row, self.statement(values))
        except RowProblem as exc:
            column = exc.column
            where = exc.path or (f"column {column}" if column else "")
            message = f"{where}: {exc.rule}" if where else exc.rule
            if column and f"column {column}" not in message:
                message += f" (column {column})"
            return Record(
                row,
                None,
                RowError(row=row, path=exc.path, rule=exc.rule, message=message, column=column),
            )

    def statement(self, row: Mapping[str, str]) -> dict[str, Any]:
        """Raises RowProblem."""
        statement: dict[str, Any] = {
            "actor": self._make_actor(row),
            "verb": self._make_verb(row),
            "object": self._make_activity(row),
            "timestamp": self._make_timestamp(row),
        }
        result: dict[str, Any] = {}
        if self._score is not None:
            score = self._make_score(row, *self._score)
            if score is not None:
                result["score"] = score
        for name, flag in self._flags.items():
            value = flag if isinstance(flag, bool) else make_flag(row, *flag)
            if value is not None:
                result[name] = value
        if self._duration is not None:
            duration = make_duration(row, *self._duration)
            if duration is not None:
                result["duration"] = duration
        if result:
            statement["result"] = result
        if self._platform is not None:
            platform = render_optional(self._platform, row, "context.platform")
            if platform is not None:
                statement["context"] = {"platform": platform}
        return {"id": self._make_id(row, statement), **statement}

    def _make_actor(self, row: Mapping[str, str]) -> dict[str, Any]:
        actor: dict[str, Any] = {"objectType": "Agent"}
        name = self._actor.get("name")
        if name is not None:
            value = render_optional(name, row, "actor.name")
            if value is not None:
                actor["name"] = value
        for ifi, spec in self._actor.items():
            if ifi == "name":
                continue
            if ifi == "account":
                actor["account"] = {
                    "homePage": render_required(spec["homePage"], row, "actor.account.homePage"),
                    "name": render_required(spec["name"], row, "actor.account.name"),
                }
                continue
            value = render_required(spec, row, f"actor.{ifi}")
            if ifi == "mbox" and not value.lower().startswith("mailto:"):
                value = "mailto:" + value
            elif ifi == "mbox":
                value = "mailto:" + value[len("mailto:") :]
            actor[ifi] = value
        return actor

    def _make_verb(self, row: Mapping[str, str]) -> dict[str, Any]:
        spec = self._verb
        if spec.fixed is not None:
            return dict(spec.fixed)
        assert spec.column is not None
        value = row[spec.column].strip()
        if not value:
            raise RowProblem("verb", spec.column, f"column {spec.column} is empty")
        verb = spec.table.get(value.casefold())
        if verb is None:
            raise RowProblem("verb", spec.column, f"{value!r} is not in the mapping's verb.map")
        return dict(verb)

    def _make_activity(self, row: Mapping[str, str]) -> dict[str, Any]:
        activity: dict[str, Any] = {
            "objectType": "Activity",
            "id": render_required(self._activity["id"], row, "object.id"),
        }
        definition: dict[str, Any] = {}
        for key in ("name", "description"):
            if key in self._activity:
                value = render_optional(self._activity[key], row, f"object.definition.{key}")
                if value is not None:
                    definition[key] = {self.language: value}
        if "type" in self._activity:
            value = render_optional(self._activity["type"], row, "object.definition.type")
            if value is not None:
                definition["type"] = value
        if definition:
            activity["definition"] = definition
        return activity

    def _make_timestamp(self, row: Mapping[str, str]) -> str:
        date, form, zone = self._date
        text = date.cell(row)
        assert text is not None  # the date is required
        try:
            if form == "iso":
                parsed = datetime.fromisoformat(text)
            else:
                parsed = datetime.strptime(text, form)
        except ValueError:
            wanted = "an ISO 8601 date" if form == "iso" else f"a date in the format {form}"
            raise RowProblem("timestamp", date.column, f"{text!r} is not {wanted}") from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=zone)
        moment = parsed.astimezone(UTC)
        spec = "milliseconds" if moment.microsecond else "seconds"
        return moment.replace(tzinfo=None).isoformat(timespec=spec) + "Z"

    def _make_score(
        self, row: Mapping[str, str], field: Field, low: float | None, high: float | None
    ) -> dict[str, Any] | None:
        text = field.cell(row)
        if text is None:
            return None
        raw = number(text)
        if raw is None:
            raise RowProblem("result.score.raw", field.column, f"{text!r} is not a number")
        if (low is not None and raw < low) or (high is not None and raw > high):
            raise RowProblem(
                "result.score.raw",
                field.column,
                f"{text} is outside the range {bound_text(low)} to {bound_text(high)}",
            )
        score: dict[str, Any] = {"raw": raw}
        if low is not None:
            score["min"] = plain(low)
        if high is not None:
            score["max"] = plain(high)
            score["scaled"] = (raw - (low or 0)) / (high - (low or 0))
        return score

    def _make_id(self, row: Mapping[str, str], statement: Mapping[str, Any]) -> str:
        if self._id_from is not None:
            name = orjson.dumps([[c, row[c].strip()] for c in self._id_from])
        else:
            name = orjson.dumps(statement, option=SORTED)
        return uuid5(name)
