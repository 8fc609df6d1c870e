"""The special xAPI data types (xAPI-Data.md section 4) as fast checks on parsed JSON values.

Each ``check_*`` function takes any parsed JSON value and returns ``None`` when the value is
valid, or the rule it breaks as a short sentence that completes a property path ("must be an
absolute IRI"). They never raise and never modify their argument. The regular expressions
are compiled once at import; values seen before are remembered in small bounded caches,
because statements from one source repeat the same IRIs and language tags.

Readings chosen where the 1.0.3 text leaves a number or a detail open (the stricter one
unless it would reject the specification's own examples):

* UUID (Data 2.4.1, 4.4): the standard 8-4-4-4-12 hexadecimal form, either case. Variant
  and version bits are *not* checked: 4.4 only recommends RFC 4122 variant 2, and the
  specification's own minimal example (2.4.s2) uses ``12345678-1234-5678-1234-567812345678``,
  whose variant nibble is not RFC 4122's.
* IRI (Data 4.3, 2.2.s4.b8, 2.2.s4.b6): best effort, as the specification allows: a scheme,
  a colon and at least one character; no ASCII control characters, no space, none of
  ``<>"{}|\\^``` and every ``%`` starts a percent-encoded octet. Relative references are
  rejected (2.4.4.1: "IRI fragments ... are not valid IRIs").
* IRL: an IRI whose scheme is followed by ``//`` (a locator names an authority or a file).
* openid (Data 2.4.2.3, type "URI"): an IRI made only of ASCII characters.
* mbox: ``mailto:`` in lower case, then ``local@domain`` with no whitespace.
* mbox_sha1sum: exactly 40 hexadecimal digits, either case.
* Language tags (Data 4.2, 2.2.s4.b2): well-formed per the RFC 5646 ABNF, including the
  grandfathered tags, case-insensitively; in addition a singleton or a variant must not
  appear twice (RFC 5646 2.2.5 and 2.2.6; the ADL conformance suite rejects
  ``ar-a-aaa-b-bbb-a-ccc``). Subtags are not checked against the IANA registry.
* Timestamps, 1.0.3 grammar (Data 4.5): an ISO 8601 combined date and time, calendar date,
  in the extended (``2013-05-18T05:32:34.804Z``) or the basic (``20130518T053234Z``) format
  but not mixed; seconds and fraction optional, time zone optional (4.5.s1.b4 is a SHOULD),
  upper-case ``T`` and ``Z``, ``.`` or ``,`` before the fraction. The date must exist, hours
  run 00-23 (no ``24:00``), seconds 00-59 (no leap second: the LRS could not store it as a
  point in time). The "negative zero" offsets ``-00``, ``-0000`` and ``-00:00`` are rejected
  (ISO 8601 forbids them; ADL conformance suite, XAPI-00123). The instant must fall in the
  years 0001-9999 once converted to UTC, as the LRS keeps it (Data 4.5.s1.b6): year 0000
  is refused, and so is an offset carrying 0001-01-01 or 9999-12-31 past that range.
* Timestamps, 2.0.0 grammar: RFC 3339 ``date-time`` (section 5.6): seconds and an offset are
  required, upper-case ``T`` and ``Z``; any offset but ``-00:00`` ("unknown local offset",
  RFC 3339 4.3), which is rejected as in 1.0.3; years as in 1.0.3.
* Durations (Data 4.6): ISO 8601:2004 4.4.3.2, ``PnYnMnDTnHnMnS`` or ``PnW``, at least one
  component, a ``T`` only before at least one time component, a decimal fraction only on
  the last component present. The alternative format is rejected (4.6.s1.b1). The table in
  4.6.s2 lists ``P16559.14S``, which is not ISO 8601 (seconds need the ``T``); the ADL
  conformance suite uses ``PT16559.14S``, so the former is rejected.
* Internet media types (Data 2.4.11, RFC 2046): ``type/subtype`` made of RFC 6838 name
  characters, then optional ``; name=value`` parameters.
* sha2 (Data 2.4.11): hexadecimal digits of a SHA-224, SHA-256, SHA-384 or SHA-512 digest
  (56, 64, 96 or 128 digits), either case.
* Statement ``version`` (Data 2.4.10, Communication 3.3): ``1.0`` or ``1.0.`` followed by
  digits; under the 2.0.0 grammar also ``2.0.`` followed by digits (a 2.0 LRS stores 1.0.x
  statements too).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Final

__all__ = [
    "IRI_RULE",
    "IRL_RULE",
    "LANGUAGE_TAG_RULE",
    "UUID_RULE",
    "YEAR_RANGE_RULE",
    "check_duration",
    "check_iri",
    "check_irl",
    "check_language_tag",
    "check_mailto",
    "check_media_type",
    "check_openid",
    "check_sha1",
    "check_sha2",
    "check_timestamp_iso8601",
    "check_timestamp_rfc3339",
    "check_uuid",
    "check_version",
    "is_finite_number",
    "is_language_tag",
]

STRING_RULE: Final = "must be a string"
IRI_RULE: Final = "must be an absolute IRI"
IRL_RULE: Final = "must be an absolute IRL (a scheme followed by //)"
URI_RULE: Final = "must be an absolute URI"
MAILTO_RULE: Final = "must be a mailto: IRI"
SHA1_RULE: Final = "must be 40 hexadecimal digits (a SHA-1 hash)"
SHA2_RULE: Final = "must be the hexadecimal digits of a SHA-2 hash"
UUID_RULE: Final = "must be a UUID in standard string form"
LANGUAGE_TAG_RULE: Final = "must be an RFC 5646 language tag"
DURATION_RULE: Final = "must be an ISO 8601 duration"
MEDIA_TYPE_RULE: Final = "must be an Internet media type"
ISO8601_RULE: Final = "must be an ISO 8601 timestamp"
RFC3339_RULE: Final = "must be an RFC 3339 timestamp"
REAL_DATE_RULE: Final = "must be a real date and time"
NEGATIVE_ZERO_RULE: Final = "must not use the -00:00 offset"
YEAR_RANGE_RULE: Final = "must fall in the years 0001-9999 once converted to UTC"
VERSION_1_RULE: Final = "must be 1.0 or start with 1.0."
VERSION_2_RULE: Final = "must be 1.0, or start with 1.0. or 2.0."

# IRI characters: anything but ASCII controls, space, DEL, C1 controls, the characters
# RFC 3987 excludes everywhere (<>"{}|\^`) and a bare "%".
_IRI_CHARS: Final = r"""(?:[^\x00-\x20<>"{}|\\^`%\x7f-\x9f]|%[0-9A-Fa-f]{2})"""
_SCHEME: Final = r"[A-Za-z][A-Za-z0-9+.\-]*"
_IRI_RE: Final = re.compile(rf"{_SCHEME}:{_IRI_CHARS}+")
_IRL_RE: Final = re.compile(rf"{_SCHEME}://{_IRI_CHARS}+")
_MAILTO_RE: Final = re.compile(r"""mailto:[^\s@<>"(),;:\\\[\]]+@[^\s@<>"(),;:\\\[\]/?#]+""")
_SHA1_RE: Final = re.compile(r"[0-9A-Fa-f]{40}")
_HEX_RE: Final = re.compile(r"[0-9A-Fa-f]+")
_SHA2_LENGTHS: Final = frozenset({56, 64, 96, 128})
_UUID_RE: Final = re.compile(
    r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
)
_TOKEN: Final = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_MEDIA_TYPE_RE: Final = re.compile(
    r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+\-]{0,126}"
    rf"""(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|"(?:[^"\\\x00-\x1f\x7f]|\\.)*"))*"""
)
_VERSION_1_RE: Final = re.compile(r"1\.0(?:\.[0-9]+)?")
_VERSION_2_RE: Final = re.compile(r"1\.0(?:\.[0-9]+)?|2\.0\.[0-9]+")

# RFC 5646 section 2.1 ABNF, case-insensitive. Groups: variants, extensions.
_LANGTAG_RE: Final = re.compile(
    r"""
    (?:
        (?:[a-z]{2,3}(?:-[a-z]{3}){0,3}|[a-z]{4,8})     # language ["-" extlang]
        (?:-[a-z]{4})?                                  # ["-" script]
        (?:-(?:[a-z]{2}|[0-9]{3}))?                     # ["-" region]
        (?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)
        (?P<extensions>(?:-[0-9a-wyz](?:-[a-z0-9]{2,8})+)*)
        (?:-x(?:-[a-z0-9]{1,8})+)?                      # ["-" privateuse]
    |
        x(?:-[a-z0-9]{1,8})+                            # privateuse
    |
        en-gb-oed|i-ami|i-bnn|i-default|i-enochian|i-hak|i-klingon|i-lux|i-mingo
        |i-navajo|i-pwn|i-tao|i-tay|i-tsu|sgn-be-fr|sgn-be-nl|sgn-ch-de
        |art-lojban|cel-gaulish|no-bok|no-nyn|zh-guoyu|zh-hakka|zh-min|zh-min-nan|zh-xiang
    )
    """,
    re.IGNORECASE | re.VERBOSE,
)
_SINGLETON_RE: Final = re.compile(r"-([0-9a-wyz])(?=-)", re.IGNORECASE)

_ISO_EXTENDED_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:[.,][0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(?::[0-9]{2})?)?"
)
_ISO_BASIC_RE: Final = re.compile(
    r"([0-9]{4})([0-9]{2})([0-9]{2})T([0-9]{2})([0-9]{2})(?:([0-9]{2})(?:[.,][0-9]+)?)?"
    r"(Z|[+-][0-9]{2}(?:[0-9]{2})?)?"
)
_RFC3339_RE: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})"
)
_NUMBER: Final = r"[0-9]+(?:[.,][0-9]+)?"
_DURATION_RE: Final = re.compile(
    rf"P(?!$)(?:({_NUMBER})Y)?(?:({_NUMBER})M)?(?:({_NUMBER})D)?"
    rf"(?:T(?=[0-9])(?:({_NUMBER})H)?(?:({_NUMBER})M)?(?:({_NUMBER})S)?)?"
)
_WEEKS_RE: Final = re.compile(rf"P{_NUMBER}W")

_DAYS_IN_MONTH: Final = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_NEGATIVE_ZERO: Final = frozenset({"-00", "-0000", "-00:00"})

# Bounded caches of values already found valid: a hit skips the regular expression.
_CACHE_LIMIT: Final = 4096
_valid_iris: set[str] = set()
_valid_tags: set[str] = set()


def _remember(cache: set[str], value: str) -> None:
    if len(cache) < _CACHE_LIMIT:
        cache.add(value)


def check_iri(value: object) -> str | None:
    """Return why ``value`` is not an absolute IRI, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    if value in _valid_iris:
        return None
    if _IRI_RE.fullmatch(value) is None:
        return IRI_RULE
    _remember(_valid_iris, value)
    return None


def check_irl(value: object) -> str | None:
    """Return why ``value`` is not an absolute IRL, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if _IRL_RE.fullmatch(value) is not None else IRL_RULE


def check_openid(value: object) -> str | None:
    """Return why ``value`` is not an absolute URI (ASCII-only IRI), or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    if not value.isascii() or _IRI_RE.fullmatch(value) is None:
        return URI_RULE
    return None


def check_mailto(value: object) -> str | None:
    """Return why ``value`` is not a ``mailto:`` IRI naming one address, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if _MAILTO_RE.fullmatch(value) is not None else MAILTO_RULE


def check_sha1(value: object) -> str | None:
    """Return why ``value`` is not a hex-encoded SHA-1 hash, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if _SHA1_RE.fullmatch(value) is not None else SHA1_RULE


def check_sha2(value: object) -> str | None:
    """Return why ``value`` is not a hex-encoded SHA-2 hash, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    if len(value) not in _SHA2_LENGTHS or _HEX_RE.fullmatch(value) is None:
        return SHA2_RULE
    return None


def check_uuid(value: object) -> str | None:
    """Return why ``value`` is not a UUID in standard string form, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if _UUID_RE.fullmatch(value) is not None else UUID_RULE


def check_media_type(value: object) -> str | None:
    """Return why ``value`` is not an Internet media type, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if _MEDIA_TYPE_RE.fullmatch(value) is not None else MEDIA_TYPE_RULE


def is_language_tag(value: str) -> bool:
    """Whether ``value`` is a well-formed RFC 5646 language tag (see the module notes)."""
    if value in _valid_tags:
        return True
    match = _LANGTAG_RE.fullmatch(value)
    if match is None:
        return False
    variants = match.group("variants")
    if variants:
        # RFC 5646 2.2.5: the same variant subtag MUST NOT be used more than once.
        seen = variants.lower().split("-")[1:]
        if len(set(seen)) != len(seen):
            return False
    extensions = match.group("extensions")
    if extensions:
        # RFC 5646 2.2.6: each singleton MUST appear at most once.
        singletons = _SINGLETON_RE.findall(extensions.lower() + "-")
        if len(set(singletons)) != len(singletons):
            return False
    _remember(_valid_tags, value)
    return True


def check_language_tag(value: object) -> str | None:
    """Return why ``value`` is not an RFC 5646 language tag, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    return None if is_language_tag(value) else LANGUAGE_TAG_RULE


def _check_date_time(parts: Sequence[Any]) -> str | None:
    """Check the groups year, month, day, hour, minute, second?, offset? of a timestamp."""
    year, month, day, hour, minute = (int(part) for part in parts[:5])
    second = parts[5]
    if not 1 <= month <= 12:
        return REAL_DATE_RULE
    limit = _DAYS_IN_MONTH[month]
    if month == 2 and year % 4 == 0 and (year % 100 != 0 or year % 400 == 0):
        limit = 29
    if not 1 <= day <= limit or hour > 23 or minute > 59:
        return REAL_DATE_RULE
    if second is not None and int(second) > 59:
        return REAL_DATE_RULE
    if year == 0:
        # ISO 8601 year 0000 (1 BC) cannot be kept as a point in time (see YEAR_RANGE_RULE).
        return YEAR_RANGE_RULE
    offset = parts[6]
    if offset is not None and offset != "Z":
        if offset in _NEGATIVE_ZERO:
            return NEGATIVE_ZERO_RULE
        digits = offset.replace(":", "")
        offset_hours, offset_minutes = int(digits[1:3]), int(digits[3:5] or 0)
        if offset_hours > 23 or offset_minutes > 59:
            return REAL_DATE_RULE
        # The LRS keeps and compares timestamps in UTC (Data 4.5.s1.b6): the instant must
        # stay within 0001-9999 there too, which only the first and last day can leave.
        shift = (offset_hours * 60 + offset_minutes) * (1 if offset[0] == "+" else -1)
        utc_minute_of_day = hour * 60 + minute - shift
        if (year, month, day) == (1, 1, 1) and utc_minute_of_day < 0:
            return YEAR_RANGE_RULE
        if (year, month, day) == (9999, 12, 31) and utc_minute_of_day >= 24 * 60:
            return YEAR_RANGE_RULE
    return None


def check_timestamp_iso8601(value: object) -> str | None:
    """Return why ``value`` is not an ISO 8601 timestamp (xAPI 1.0.3 grammar), or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    match = _ISO_EXTENDED_RE.fullmatch(value) or _ISO_BASIC_RE.fullmatch(value)
    if match is None:
        return ISO8601_RULE
    return _check_date_time(match.groups())


def check_timestamp_rfc3339(value: object) -> str | None:
    """Return why ``value`` is not an RFC 3339 timestamp (xAPI 2.0.0 grammar), or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    match = _RFC3339_RE.fullmatch(value)
    if match is None:
        return RFC3339_RULE
    return _check_date_time(match.groups())


def check_duration(value: object) -> str | None:
    """Return why ``value`` is not an ISO 8601 duration, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    match = _DURATION_RE.fullmatch(value)
    if match is None:
        return None if _WEEKS_RE.fullmatch(value) is not None else DURATION_RULE
    if "." in value or "," in value:
        # ISO 8601:2004 4.4.3.2: only the lowest order component may have a fraction.
        present = [part for part in match.groups() if part is not None]
        if any("." in part or "," in part for part in present[:-1]):
            return DURATION_RULE
    return None


def check_version(value: object, *, allow_2_0: bool) -> str | None:
    """Return why ``value`` is not an allowed statement ``version``, or ``None``."""
    if type(value) is not str:
        return STRING_RULE
    if allow_2_0:
        return None if _VERSION_2_RE.fullmatch(value) is not None else VERSION_2_RULE
    return None if _VERSION_1_RE.fullmatch(value) is not None else VERSION_1_RULE


def is_finite_number(value: object) -> bool:
    """Whether ``value`` is a JSON number: an int or a finite float, never a bool."""
    kind = type(value)
    if kind is int:
        return True
    return kind is float and math.isfinite(value)  # type: ignore[arg-type]
