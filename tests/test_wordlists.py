"""Default and made-up values: which spellings count as a default word, and which stay secrets."""

from __future__ import annotations

import pytest

from keyscan.wordlists import is_default_value, is_word_label


@pytest.mark.parametrize(
    "value",
    [
        "secret2",  # a numbered default word
        "test1",  # a trailing digit is a number, not a look-alike `i`
        "t3s71ng",  # look-alike digits for the letters of `testing`
        "r00t",
        "adm1n",
        "pa55word",
        "mysecret",  # a possessive glued to a default word
        "yourtoken",
        "theadmin",
        "hello123",
        "pass%20pass",
    ],
)
def test_spellings_of_default_words_are_defaults(value: str) -> None:
    assert is_default_value(value)


@pytest.mark.parametrize(
    "value",
    [
        "bosco",  # a name is not a default word
        "myst3ry9",  # a possessive needs a default word after it
        "the",  # a possessive alone is no default word
        "Xk9#mQ2vLp8w",
        "tiger^5HHH",  # a default word with more after it is a real (weak) password
    ],
)
def test_other_values_are_not_defaults(value: str) -> None:
    assert not is_default_value(value)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("stale-token", True),
        ("users_list_pagination_1", True),
        ("xoxb-chat_stream_test_token1", True),
        ("keyinfo_test_123", True),
        ("single", False),  # one word is not a label of words
        ("a-b-c", False),  # one-letter fragments carry no words
        ("k9x-2mqf-77ab", False),  # generated: digits inside the parts
        ("token_rotation_secret2024", False),  # four digits glued to a word: not a number part
        ("test-secret-key-minimum-length-32-chars", True),  # numbers as parts of their own
        ("genius-industries-super-secret-key-2025", True),
        ("2024-01-15", False),  # numbers alone are no words
        ("v1-api", False),
        # Versions and numbers with a short unit count as parts when two parts are words.
        ("gpt-4o-mini-2024-07-18", True),
        ("imagenet_2012_train_val_split_v2", True),
        ("MODEL_V2_LARGE_3B", True),
        ("v2-4o", False),
        ("ab-4o-x9k2", False),
    ],
)
def test_word_labels(value: str, label: bool) -> None:
    assert is_word_label(value) is label


@pytest.mark.parametrize(
    ("value", "label"),
    [
        ("ACCOUNT_SID:AUTH_TOKEN", True),  # the names of what belongs there
        ("auth:token", True),
        ("Ab-cD_eF", False),  # mixed case: URL-safe base64 can look like this
    ],
)
def test_word_labels_of_one_case(value: str, label: bool) -> None:
    assert is_word_label(value) is label
