"""The password policy and argon2id hashing."""

from __future__ import annotations

from typing import Any

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from shelfbridge.accounts import passwords
from shelfbridge.accounts.demo import DEMO_PASSWORD
from shelfbridge.accounts.models import User
from shelfbridge.core.i18n import translate
from tests import auth


def _messages(password: str, username: str = "alice") -> list[str]:
    return [
        p.render(lambda m: translate(m, "en"))
        for p in passwords.policy_problems(password, username)
    ]


@pytest.mark.parametrize(
    "password",
    [DEMO_PASSWORD, "correct horse battery", "雨后春笋般的成果2026年转化", "Tr0ub4dor&3xyz"],
)
def test_good_passwords_pass_the_policy(password: str) -> None:
    assert _messages(password) == []


def test_a_short_password_is_refused_with_the_length_needed() -> None:
    assert _messages("abc123!") == ["Use at least 12 characters (this one has 7)."]


def test_one_kind_of_character_is_not_enough() -> None:
    assert _messages("abcdefghijklmnop") == [
        "Mix at least two kinds of characters: letters, digits and symbols."
    ]
    assert _messages("1234567890123456") == [
        "Mix at least two kinds of characters: letters, digits and symbols.",
    ]


def test_a_password_must_not_contain_the_username() -> None:
    assert _messages("my-name-is-Alice-42") == ["The password must not contain the username."]


def test_common_passwords_are_refused() -> None:
    assert _messages("Password1234") == [
        "This password is among the most common ones and easy to guess; choose another."
    ]


def test_messages_are_translated() -> None:
    problems = passwords.policy_problems("short", "alice")
    assert problems[0].render(lambda m: translate(m, "zh")).startswith("请至少使用 12 个字符")


def test_production_hashes_are_argon2id_with_the_rfc_9106_low_memory_profile() -> None:
    previous = passwords.use_hasher(PasswordHasher())
    try:
        stored = passwords.hash_password(DEMO_PASSWORD)
        assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
        assert passwords.verify_password(stored, DEMO_PASSWORD)
        assert not passwords.verify_password(stored, DEMO_PASSWORD + "x")
        assert not passwords.verify_password("not a hash", DEMO_PASSWORD)
    finally:
        passwords.use_hasher(previous)


def test_a_hash_with_old_parameters_is_replaced_at_the_next_sign_in(
    client: Any, database: Any
) -> None:
    older = passwords.use_hasher(PasswordHasher(time_cost=1, memory_cost=16, parallelism=1))
    try:
        auth.create_user(database, "alice")
    finally:
        passwords.use_hasher(older)
    with database.unit_of_work(write=False) as session:
        before = session.scalar(select(User.password_hash).where(User.username == "alice"))
    assert before is not None and "m=16," in before

    auth.sign_in(client, "alice")
    with database.unit_of_work(write=False) as session:
        after = session.scalar(select(User.password_hash).where(User.username == "alice"))
    assert after is not None and after != before and "m=8," in after
    assert passwords.verify_password(after, auth.PASSWORD)
