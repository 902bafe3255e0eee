"""Password hashing (argon2id) and the password policy.

Hashes use argon2-cffi's defaults, the RFC 9106 low-memory profile (64 MiB, 3 passes,
4 lanes). A stored hash made with other parameters still verifies and is replaced on the next
successful sign-in (:func:`needs_rehash`). Unknown usernames are checked against a dummy hash
made with the same parameters, so a sign-in takes as long whether or not the user exists.
"""

from __future__ import annotations

import secrets
import string

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from shelfbridge.core.errors import FieldProblem
from shelfbridge.core.i18n import N_

MIN_LENGTH = 12
MAX_LENGTH = 256  # argon2 copes with more; a limit keeps a sign-in from being made slow

# The most used passwords of public breach lists (and obvious local ones) that are long enough
# to pass the length rule; compared in lower case and without spaces.
COMMON_PASSWORDS = frozenset(
    {
        "123456789012",
        "1234567890123",
        "12345678901234",
        "123456789abc",
        "1q2w3e4r5t6y",
        "1qaz2wsx3edc",
        "1qaz2wsx3edc4rfv",
        "a1b2c3d4e5f6",
        "abc123456789",
        "abcd12345678",
        "abcdefg12345",
        "administrator1",
        "admin1234567",
        "admin@123456",
        "changeme1234",
        "iloveyou1234",
        "letmein12345",
        "password1234",
        "password12345",
        "password123456",
        "password@123",
        "password!123",
        "passw0rd1234",
        "p@ssw0rd1234",
        "p@ssword1234",
        "qwerty123456",
        "qwertyuiop12",
        "qwertyuiop123",
        "qwer1234qwer",
        "q1w2e3r4t5y6",
        "welcome12345",
        "welcome@1234",
        "woaini1314520",
        "woaini520520",
        "zxcvbnm12345",
        "1234qwerasdf",
        "asdf1234asdf",
        "aa123456789",
        "aa1234567890",
        "qq1234567890",
        "shelfbridge1",
        "shelfbridge123",
        "shelfbridge2025",
        "shelfbridge2026",
    }
)

_hasher = PasswordHasher()
_dummy: tuple[PasswordHasher, str] | None = None


def hasher() -> PasswordHasher:
    return _hasher


def use_hasher(new: PasswordHasher) -> PasswordHasher:
    """Replace the hasher (tests use cheap parameters); returns the previous one."""
    global _hasher
    previous, _hasher = _hasher, new
    return previous


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True


def burn_verification(password: str) -> None:
    """Spend the time of one verification, for a username that does not exist."""
    global _dummy
    if _dummy is None or _dummy[0] is not _hasher:
        _dummy = (_hasher, _hasher.hash(secrets.token_urlsafe(16)))
    verify_password(_dummy[1], password)


def _classes(password: str) -> int:
    letters = any(c.isalpha() for c in password)
    digits = any(c in string.digits for c in password)
    symbols = any(not c.isalnum() for c in password)
    return letters + digits + symbols


def policy_problems(
    password: str, username: str = "", field: str = "password"
) -> list[FieldProblem]:
    """Everything wrong with a new password (empty when it may be used)."""
    problems: list[FieldProblem] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            FieldProblem(
                field,
                N_("Use at least {minimum} characters (this one has {count})."),
                {"minimum": MIN_LENGTH, "count": len(password)},
            )
        )
    elif len(password) > MAX_LENGTH:
        problems.append(
            FieldProblem(field, N_("Use at most {maximum} characters."), {"maximum": MAX_LENGTH})
        )
    if password and _classes(password) < 2:
        problems.append(
            FieldProblem(
                field, N_("Mix at least two kinds of characters: letters, digits and symbols.")
            )
        )
    name = username.strip().lower()
    if name and name in password.lower():
        problems.append(FieldProblem(field, N_("The password must not contain the username.")))
    if "".join(password.lower().split()) in COMMON_PASSWORDS:
        problems.append(
            FieldProblem(
                field,
                N_(
                    "This password is among the most common ones and easy to guess; choose another."
                ),
            )
        )
    return problems
