"""The special data types of xAPI-Data.md section 4, checked value by value."""

from __future__ import annotations

import pytest

from schemas.xapi import primitives

# Data 4.2 and 2.2.s4.b2; the tags are those of the ADL conformance suite (XAPI-00013).
VALID_TAGS = [
    "de",
    "en-US",
    "en-GB",
    "tlh",
    "ine",
    "i-enochian",
    "zh-Hant",
    "sr-Latn",
    "zh-cmn-Hans-CN",
    "sr-Latn-RS",
    "sl-rozaj-biske",
    "de-CH-1901",
    "hy-Latn-IT-arevela",
    "de-DE",
    "es-419",
    "az-Arab-x-AZE-derbend",
    "x-whatever",
    "en-a-myext-b-another",
    "EN-us",
    "zh-min-nan",
]
INVALID_TAGS = [
    "",
    "de-419-DE",
    "a-DE",
    "ar-a-aaa-b-bbb-a-ccc",
    "de-DE-1901-1901",
    "en_US",
    "en-",
    "-en",
    "englishes",
    "en US",
    "supercalifragilistic",
    "x",
    "en-x",
    "12",
]


@pytest.mark.parametrize("tag", VALID_TAGS)
def test_well_formed_language_tags_are_accepted(tag: str) -> None:
    """RFC 5646 well-formed tags, grandfathered and private-use ones included."""
    assert primitives.check_language_tag(tag) is None


@pytest.mark.parametrize("tag", INVALID_TAGS)
def test_malformed_language_tags_are_rejected(tag: str) -> None:
    """Data 2.2.s4.b2: token lengths must match RFC 5646; duplicate singletons/variants too."""
    assert primitives.check_language_tag(tag) == primitives.LANGUAGE_TAG_RULE


@pytest.mark.parametrize(
    "iri",
    [
        "http://adlnet.gov/expapi/verbs/completed",
        "http://example.com/xapi/verbs#defenestrated",
        "http://example.com/فعل/خواندن",
        "urn:uuid:fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "tag:adlnet.gov,2013:expapi:0.9:activities:x",
        "https://example.com/a%20b?q=1",
        "mailto:ada@example.org",
    ],
)
def test_absolute_iris_are_accepted(iri: str) -> None:
    assert primitives.check_iri(iri) is None


@pytest.mark.parametrize(
    "iri",
    [
        "",
        "completed",
        "/verbs/completed",
        "#fragment",
        "http:",
        "1http://example.com",
        "http://example.com/my verb",
        "http://example.com/<x>",
        "http://example.com/%zz",
        "http://example.com/\n",
    ],
)
def test_relative_or_malformed_iris_are_rejected(iri: str) -> None:
    """Data 2.2.s4.b1.b4 and b8: no empty string, no IRI without a scheme."""
    assert primitives.check_iri(iri) == primitives.IRI_RULE


def test_iris_must_be_strings() -> None:
    assert primitives.check_iri(42) == primitives.STRING_RULE


@pytest.mark.parametrize("irl", ["http://www.example.com", "https://x.org/a?b#c", "file:///tmp/a"])
def test_irls_are_accepted(irl: str) -> None:
    assert primitives.check_irl(irl) is None


@pytest.mark.parametrize("irl", ["www.example.com", "urn:isbn:123", "http://", "/files/1"])
def test_irls_need_a_scheme_and_an_authority(irl: str) -> None:
    assert primitives.check_irl(irl) == primitives.IRL_RULE


@pytest.mark.parametrize("mbox", ["mailto:xapi@adlnet.gov", "mailto:first.last+tag@example.co.uk"])
def test_mailto_iris_are_accepted(mbox: str) -> None:
    assert primitives.check_mailto(mbox) is None


@pytest.mark.parametrize(
    "mbox",
    ["xapi@adlnet.gov", "MAILTO:xapi@adlnet.gov", "mailto:", "mailto:xapi", "mailto:a b@c.d"],
)
def test_mbox_must_be_a_mailto_iri(mbox: str) -> None:
    """Data 2.4.2.3: the required format is "mailto:email address"."""
    assert primitives.check_mailto(mbox) == primitives.MAILTO_RULE


def test_openid_must_be_an_ascii_uri() -> None:
    assert primitives.check_openid("http://toby.openid.example.org/") is None
    assert primitives.check_openid("http://example.com/فعل") == primitives.URI_RULE


@pytest.mark.parametrize(
    "value",
    ["ebd31e95054c018b10727ccffd2ef2ec3a016ee9", "EBD31E95054C018B10727CCFFD2EF2EC3A016EE9"],
)
def test_sha1_sums_are_forty_hex_digits(value: str) -> None:
    assert primitives.check_sha1(value) is None
    assert primitives.check_sha1(value[:-1]) == primitives.SHA1_RULE
    assert primitives.check_sha1(value[:-1] + "g") == primitives.SHA1_RULE


@pytest.mark.parametrize("digits", [56, 64, 96, 128])
def test_sha2_hashes_have_the_length_of_a_sha2_digest(digits: int) -> None:
    assert primitives.check_sha2("a" * digits) is None
    assert primitives.check_sha2("a" * (digits - 2)) == primitives.SHA2_RULE


@pytest.mark.parametrize(
    "value",
    [
        "fd41c918-b88b-4b20-a0a5-a4c32391aaa0",
        "FD41C918-B88B-4B20-A0A5-A4C32391AAA0",
        "12345678-1234-5678-1234-567812345678",
        "00000000-0000-0000-0000-000000000000",
    ],
)
def test_uuids_of_any_version_and_variant_are_accepted(value: str) -> None:
    """Data 2.4.1 and 4.4: standard string form; the 2.4.s2 example is not variant 2."""
    assert primitives.check_uuid(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "AA97B177-9383-4934-8543-0F91A7A028368",
        "MA97B177-9383-4934-8543-0F91A7A02836",
        "fd41c918b88b4b20a0a5a4c32391aaa0",
        "{fd41c918-b88b-4b20-a0a5-a4c32391aaa0}",
        "fd41c918-b88b-4b20-a0a5-a4c32391aaa0\n",
        "",
    ],
)
def test_uuids_not_in_standard_string_form_are_rejected(value: str) -> None:
    assert primitives.check_uuid(value) == primitives.UUID_RULE


@pytest.mark.parametrize(
    "value",
    [
        "2013-05-18T05:32:34.804+00:00",
        "2013-05-18T05:32:34.804Z",
        "2015-11-18T12:17:00+00:00",
        "2013-04-01T12:00:00Z",
        "2013-04-01T12:00:00",
        "2013-04-01T12:00",
        "2013-04-01T12:00:00,5+01",
        "2024-02-29T23:59:59.999999999-05:30",
        "20130518T053234Z",
        "20130518T053234.804+0100",
    ],
)
def test_iso8601_timestamps_are_accepted_by_the_1_0_3_grammar(value: str) -> None:
    """Data 4.5.s1.b1: formatted according to ISO 8601 (time zone only a SHOULD)."""
    assert primitives.check_timestamp_iso8601(value) is None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("01/011/2015", primitives.ISO8601_RULE),
        ("2013-05-18", primitives.ISO8601_RULE),
        ("2013-05-18 05:32:34Z", primitives.ISO8601_RULE),
        ("2013-05-18t05:32:34z", primitives.ISO8601_RULE),
        ("2013-05-18T053234Z", primitives.ISO8601_RULE),
        ("July 04, 1776 16:00:45", primitives.ISO8601_RULE),
        ("2008-09-15T15:53:00.601-00", primitives.NEGATIVE_ZERO_RULE),
        ("20080915T155300.601-0000", primitives.NEGATIVE_ZERO_RULE),
        ("2008-09-15T15:53:00.601-00:00", primitives.NEGATIVE_ZERO_RULE),
        ("2023-02-29T00:00:00Z", primitives.REAL_DATE_RULE),
        ("2100-02-29T00:00:00Z", primitives.REAL_DATE_RULE),
        ("2024-04-31T00:00:00Z", primitives.REAL_DATE_RULE),
        ("2024-13-01T00:00:00Z", primitives.REAL_DATE_RULE),
        ("2024-00-10T00:00:00Z", primitives.REAL_DATE_RULE),
        ("2024-01-10T24:00:00Z", primitives.REAL_DATE_RULE),
        ("2024-01-10T12:60:00Z", primitives.REAL_DATE_RULE),
        ("2016-12-31T23:59:60Z", primitives.REAL_DATE_RULE),
        ("2024-01-10T12:00:00+24:00", primitives.REAL_DATE_RULE),
    ],
)
def test_bad_timestamps_are_rejected_by_the_1_0_3_grammar(value: str, rule: str) -> None:
    """Data 4.5; the negative zero offsets follow the ADL conformance suite (XAPI-00123)."""
    assert primitives.check_timestamp_iso8601(value) == rule


def test_leap_day_of_a_leap_year_is_a_real_date() -> None:
    assert primitives.check_timestamp_iso8601("2000-02-29T00:00:00Z") is None


@pytest.mark.parametrize(
    "value",
    [
        "0000-01-01T00:00:00Z",
        "0000-06-01T00:00:00+01:00",
        "00001231T120000Z",
        "9999-12-31T23:00:00-05:00",
        "9999-12-31T23:59:59.999-00:01",
        "99991231T2300-0100",
        "0001-01-01T01:00:00+05:00",
        "0001-01-01T00:00:00.5+00:01",
    ],
)
def test_timestamps_outside_the_years_0001_to_9999_in_utc_are_rejected(value: str) -> None:
    """The LRS keeps timestamps in UTC (Data 4.5.s1.b6); there is no year 0000 or 10000."""
    assert primitives.check_timestamp_iso8601(value) == primitives.YEAR_RANGE_RULE


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T05:00:00+05:00",
        "0001-01-01T00:00:00-05:00",
        "9999-12-31T23:59:59Z",
        "9999-12-31T18:59:59-05:00",
        "9999-12-31T23:59:59+05:00",
        "0999-05-01T10:00:00+02:00",
    ],
)
def test_timestamps_at_the_edges_of_the_years_0001_to_9999_are_accepted(value: str) -> None:
    assert primitives.check_timestamp_iso8601(value) is None
    assert primitives.check_timestamp_rfc3339(value) is None


def test_the_2_0_0_grammar_also_keeps_to_the_years_0001_to_9999() -> None:
    assert (
        primitives.check_timestamp_rfc3339("9999-12-31T23:00:00-05:00")
        == primitives.YEAR_RANGE_RULE
    )
    assert primitives.check_timestamp_rfc3339("0000-01-01T00:00:00Z") == primitives.YEAR_RANGE_RULE


@pytest.mark.parametrize(
    "value",
    ["2013-05-18T05:32:34.804+01:00", "2013-05-18T05:32:34Z", "2024-02-29T23:59:59-05:30"],
)
def test_rfc3339_timestamps_are_accepted_by_the_2_0_0_grammar(value: str) -> None:
    assert primitives.check_timestamp_rfc3339(value) is None


@pytest.mark.parametrize(
    ("value", "rule"),
    [
        ("2013-05-18T05:32:34", primitives.RFC3339_RULE),
        ("2013-05-18T05:32Z", primitives.RFC3339_RULE),
        ("20130518T053234Z", primitives.RFC3339_RULE),
        ("2013-05-18T05:32:34+01", primitives.RFC3339_RULE),
        ("2013-05-18T05:32:34,5Z", primitives.RFC3339_RULE),
        ("2013-05-18T05:32:34-00:00", primitives.NEGATIVE_ZERO_RULE),
        ("2013-02-30T05:32:34Z", primitives.REAL_DATE_RULE),
    ],
)
def test_bad_timestamps_are_rejected_by_the_2_0_0_grammar(value: str, rule: str) -> None:
    assert primitives.check_timestamp_rfc3339(value) == rule


@pytest.mark.parametrize(
    "value",
    [
        "PT4H35M59.14S",
        "PT16559.14S",
        "P3Y1M29DT4H35M59.14S",
        "P3Y",
        "P4W",
        "PT1H0M0S",
        "PT1234S",
        "PT1H0M0.1S",
        "P1M",
        "PT1M",
        "P0D",
        "PT0,5S",
        "P1.5W",
    ],
)
def test_iso8601_durations_are_accepted(value: str) -> None:
    """Data 4.6, examples of 4.6.s2 and of the ADL conformance suite."""
    assert primitives.check_duration(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        "P",
        "PT",
        "P1YT",
        "PA1H0M0S",
        "P4W1D",
        "P16559.14S",
        "P0001-02-03T04:05:06",
        "PT1.5H30M",
        "1H",
        "pt1h",
        "PT-1S",
        "P1DT1D",
        "PT1S2M",
    ],
)
def test_malformed_durations_are_rejected(value: str) -> None:
    """Data 4.6.s1.b1: the 4.4.3.2 format only; weeks are not combined (4.6.s2)."""
    assert primitives.check_duration(value) == primitives.DURATION_RULE


@pytest.mark.parametrize(
    "value", ["text/plain", "text/plain; charset=ascii", "application/octet-stream", 'a/b;c="d e"']
)
def test_media_types_are_accepted(value: str) -> None:
    assert primitives.check_media_type(value) is None


@pytest.mark.parametrize("value", ["", "text", "text/", "/plain", "octet stream", "text/plain;"])
def test_malformed_media_types_are_rejected(value: str) -> None:
    assert primitives.check_media_type(value) == primitives.MEDIA_TYPE_RULE


@pytest.mark.parametrize("value", ["1.0", "1.0.0", "1.0.3", "1.0.9", "1.0.10"])
def test_statement_versions_starting_with_1_0_are_accepted(value: str) -> None:
    """Data 2.4.10.s3.b1 and the ADL conformance suite (XAPI-00101)."""
    assert primitives.check_version(value, allow_2_0=False) is None
    assert primitives.check_version(value, allow_2_0=True) is None


@pytest.mark.parametrize("value", ["0.9.9", "1.1.0", "1", "1.0.", "1.0.x", "should fail", "2.0"])
def test_other_statement_versions_are_rejected(value: str) -> None:
    """Data 2.4.10.s3.b2."""
    assert primitives.check_version(value, allow_2_0=False) == primitives.VERSION_1_RULE


def test_version_2_0_x_is_allowed_only_by_the_2_0_0_grammar() -> None:
    assert primitives.check_version("2.0.0", allow_2_0=False) == primitives.VERSION_1_RULE
    assert primitives.check_version("2.0.0", allow_2_0=True) is None
    assert primitives.check_version("3.0.0", allow_2_0=True) == primitives.VERSION_2_RULE


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0, True),
        (-1.5, True),
        (1e300, True),
        (True, False),
        ("1", False),
        (float("nan"), False),
        (float("inf"), False),
        (None, False),
    ],
)
def test_numbers_are_finite_and_never_booleans(value: object, *, expected: bool) -> None:
    """Data 2.2.s4.b1.b2."""
    assert primitives.is_finite_number(value) is expected
