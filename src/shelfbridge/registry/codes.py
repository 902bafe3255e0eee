"""Validators for the standard codes the registry stores."""

from __future__ import annotations

import re

# GB 32100-2015: 18 characters from 31 symbols (no I, O, Z, S, V); the last is a check
# character over the first 17 with weights 3^i mod 31.
CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)

# WIPO IPC: section A–H, class (2 digits), subclass (letter), optional group "main/sub".
IPC_PATTERN = re.compile(r"^[A-H]\d{2}[A-Z](?: ?\d{1,4}/\d{2,6})?$")
REGION_PATTERN = re.compile(r"^\d{6}$")


def credit_code_check_character(first17: str) -> str:
    total = sum(
        CREDIT_CODE_ALPHABET.index(char) * weight
        for char, weight in zip(first17, CREDIT_CODE_WEIGHTS, strict=True)
    )
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def is_valid_credit_code(code: str) -> bool:
    if len(code) != 18 or any(char not in CREDIT_CODE_ALPHABET for char in code):
        return False
    return credit_code_check_character(code[:17]) == code[17]


def normalize_ipc(code: str) -> str | None:
    """``A61K31/495`` and ``a61k 31/495`` become ``A61K 31/495``; None when not an IPC code."""
    text = re.sub(r"\s+", " ", code.strip().upper())
    if not IPC_PATTERN.match(text):
        return None
    if "/" in text and " " not in text:
        text = f"{text[:4]} {text[4:]}"
    return text
