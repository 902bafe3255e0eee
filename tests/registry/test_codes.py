"""Standard codes: unified social credit code (GB 32100-2015) and IPC."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shelfbridge.registry.codes import (
    CREDIT_CODE_ALPHABET,
    credit_code_check_character,
    is_valid_credit_code,
    normalize_ipc,
)

# Published codes: the worked example of GB 32100-2015 and codes printed on business licences.
PUBLISHED = ["91350100M000100Y43", "91440300708461136T", "12100000400000624D"]


@pytest.mark.parametrize("code", PUBLISHED)
def test_published_codes_are_valid(code: str) -> None:
    assert is_valid_credit_code(code)


@pytest.mark.parametrize("code", PUBLISHED)
def test_any_single_changed_character_is_caught(code: str) -> None:
    for position in range(18):
        for replacement in CREDIT_CODE_ALPHABET:
            if replacement == code[position]:
                continue
            forged = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_credit_code(forged), forged


@pytest.mark.parametrize(
    "code",
    ["", "91350100M000100Y4", "91350100M000100Y433", "91350100M000100I43", "91350100m000100y43"],
)
def test_wrong_length_or_letters_outside_the_alphabet_are_refused(code: str) -> None:
    assert not is_valid_credit_code(code)


@given(st.text(alphabet=CREDIT_CODE_ALPHABET, min_size=17, max_size=17))
def test_the_computed_check_character_always_validates(first17: str) -> None:
    assert is_valid_credit_code(first17 + credit_code_check_character(first17))


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("G06F", "G06F"),
        ("a61k 31/495", "A61K 31/495"),
        ("A61K31/495", "A61K 31/495"),
        ("H01M  10/0525", "H01M 10/0525"),
        ("I01B", None),
        ("G06", None),
        ("G06F 3", None),
    ],
)
def test_ipc_codes_are_normalised_or_refused(raw: str, expected: str | None) -> None:
    assert normalize_ipc(raw) == expected
