"""Language choice for format=canonical (Communication 2.1.3.s4) and format=ids."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from portfolio.lrs.formats import choose_language, to_ids

tags = st.sampled_from(["en", "en-GB", "en-US", "cy", "cy-GB", "fr", "de", "und"])
maps = st.dictionaries(tags, st.text(min_size=1, max_size=5), min_size=1, max_size=5)
preferences = st.lists(st.tuples(tags | st.just("*"), st.floats(0, 1)), max_size=4)


@given(maps, preferences)
def test_exactly_one_entry_of_the_map_is_returned(
    language_map: dict[str, str], prefs: list
) -> None:  # type: ignore[type-arg]
    prefs = sorted(prefs, key=lambda p: -p[1])
    chosen = choose_language(language_map, prefs)
    assert len(chosen) == 1
    ((tag, value),) = chosen.items()
    assert language_map[tag] == value


@given(maps)
def test_an_exact_tag_asked_for_first_is_chosen(language_map: dict[str, str]) -> None:
    tag = sorted(language_map)[0]
    assert choose_language(language_map, [(tag, 1.0), ("*", 0.1)]) == {tag: language_map[tag]}


def test_a_range_matches_longer_tags_and_falls_back_to_shorter_ones() -> None:
    assert choose_language({"fr": "x", "en-GB": "y"}, [("en", 1.0)]) == {"en-GB": "y"}
    assert choose_language({"fr": "x", "en": "y"}, [("en-GB", 1.0)]) == {"en": "y"}
    assert choose_language({"fr": "x", "en": "y"}, [("de", 1.0)]) == {"fr": "x"}
    assert choose_language({"fr": "x", "en": "y"}, [("en", 0.0), ("de", 1.0)]) == {"fr": "x"}


def test_ids_format_reduces_an_anonymous_group_to_its_members_identifiers() -> None:
    statement = {
        "actor": {
            "objectType": "Group",
            "name": "Set 4",
            "member": [
                {"name": "Ann", "mbox": "mailto:ann@x.org"},
                {"name": "Bob", "account": {"homePage": "https://lms", "name": "bob"}},
            ],
        },
        "verb": {"id": "http://v", "display": {"en": "v"}},
        "object": {"id": "http://a", "definition": {"name": {"en": "A"}}},
    }
    reduced = to_ids(statement)
    assert reduced["actor"] == {
        "objectType": "Group",
        "member": [
            {"mbox": "mailto:ann@x.org"},
            {"account": {"homePage": "https://lms", "name": "bob"}},
        ],
    }
    assert reduced["object"] == {"id": "http://a"}
    assert reduced["verb"] == {"id": "http://v"}
