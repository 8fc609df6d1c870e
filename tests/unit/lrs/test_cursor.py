"""`more` tokens: they round-trip, and any tampering or reuse by other credentials fails."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfolio.errors import InvalidInput
from portfolio.lrs.cursor import MoreToken, decode_more, encode_more
from portfolio.storage.base import Cursor

KEY = b"instance-key"
TOKEN = MoreToken(
    params={"agent": '{"mbox":"mailto:ann@example.org"}', "limit": "10"},
    cursor=Cursor(stored="2026-11-23T10:00:00.123456Z", id="6690e6c9-3ef0-4ed3-8b37-7f3964730bee"),
    client_key="client-a",
)


def test_a_token_round_trips() -> None:
    assert decode_more(encode_more(TOKEN, key=KEY), key=KEY, client_key="client-a") == TOKEN


@given(st.data())
def test_changing_any_character_is_detected(data: st.DataObject) -> None:
    text = encode_more(TOKEN, key=KEY)
    position = data.draw(st.integers(min_value=0, max_value=len(text) - 1))
    replacement = data.draw(st.sampled_from("ABCxyz0189-_.").filter(lambda c: c != text[position]))
    tampered = text[:position] + replacement + text[position + 1 :]
    with pytest.raises(InvalidInput):
        decode_more(tampered, key=KEY, client_key="client-a")


def test_another_key_or_another_client_is_refused() -> None:
    text = encode_more(TOKEN, key=KEY)
    with pytest.raises(InvalidInput):
        decode_more(text, key=b"other-instance", client_key="client-a")
    with pytest.raises(InvalidInput, match="other credentials"):
        decode_more(text, key=KEY, client_key="client-b")


@pytest.mark.parametrize("text", ["", "nodot", ".", "a.b", "!!!.???"])
def test_garbage_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        decode_more(text, key=KEY, client_key="client-a")


@pytest.mark.parametrize("text", ["abc.é", "é.é", "abc.\U0001f600", "\udcff.abc", "abc.\x00é"])
def test_a_token_with_non_ascii_is_refused_like_any_garbage(text: str) -> None:
    # hmac.compare_digest raises TypeError on non-ASCII str: this must stay InvalidInput.
    with pytest.raises(InvalidInput, match="not one this server issued"):
        decode_more(text, key=KEY, client_key="client-a")
