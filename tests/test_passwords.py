"""The rules a new password must meet: the common-password list, patterns, and passwords made
from the username or email. Where they are applied (register, reset, change) is tested with
each form; one test here shows a refusal through the register form."""

from __future__ import annotations

from importlib import resources

import pytest

from hyperpics.infra import passwords

from .conftest import PASSWORD, Tab, fetch_user, register

COMMON = "This password is too common: it is on a list of the most used passwords."
COMMON_WITH_SUFFIX = "This password is too common: it is one of the most used passwords with digits or symbols added."
REPEATED = "This password is a few characters repeated; choose another."
RUN = "This password is a run of letters, digits or keyboard keys; choose another."


def list_entries() -> list[str]:
    """The shipped list as a file, most used first, read apart from the code under test."""
    text = resources.files("hyperpics").joinpath("data", "common-passwords.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def problems_text(password: str, **known: str) -> str:
    return " ".join(passwords.problems(password, **known))


def test_the_list_has_at_least_10000_unique_lower_case_entries() -> None:
    entries = list_entries()
    assert len(set(entries)) == len(entries) >= 10_000
    assert all(entry == entry.lower() == entry.strip() for entry in entries)
    assert passwords.common_passwords() >= set(entries)


@pytest.mark.parametrize("password", ["qwerty12", "iloveyou2", "QWERTY12", "password1"])
def test_passwords_on_the_list_are_refused(password: str) -> None:
    assert COMMON in problems_text(password)


def test_entries_deep_in_the_list_are_refused() -> None:
    long_enough = [entry for entry in list_entries() if len(entry) >= passwords.MIN_LENGTH]
    deep = [list_entries()[8_999], long_enough[-1]]
    assert len(deep[0]) >= passwords.MIN_LENGTH  # else only the length rule would answer
    for password in deep:
        assert COMMON in problems_text(password), password


@pytest.mark.parametrize("password", ["password1!", "Iloveyou2024!!", "sunshine 99", "monkey.123"])
def test_a_listed_password_with_digits_or_symbols_added_is_refused(password: str) -> None:
    assert COMMON_WITH_SUFFIX in problems_text(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("aaaaaaaa", "Use more than two different characters."),
        ("12341234", REPEATED),
        ("dragondragon", REPEATED),
        ("abcabcab", REPEATED),
        ("abcdefgh", RUN),
        ("zyxwvuts", RUN),
        ("23456789", RUN),
        ("wertyuio", RUN),
        ("sdfghjkl", RUN),
        ("qwertyui", COMMON),
        ("asdfghjk", COMMON),
        ("12345678", COMMON),
        ("HyperPics", COMMON),
    ],
)
def test_repeats_and_runs_are_refused(password: str, message: str) -> None:
    assert message in problems_text(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("carolina", "Your password cannot be your username."),
        ("Carolina1", "Your password cannot contain your username."),
        ("my carolina photos", "Your password cannot contain your username."),
        ("anilorac", "Your password cannot be your username reversed."),
    ],
)
def test_passwords_made_from_the_username_are_refused(password: str, message: str) -> None:
    assert message in passwords.problems(password, username="Carolina", email="someone@example.com")


@pytest.mark.parametrize(
    ("password", "email", "message"),
    [
        ("Lina.Photo@Example.com", "lina.photo@example.com", "Your password cannot be your email address."),
        ("lina.photo", "lina.photo@example.com", "Your password cannot be the name in your email address."),
        ("lina.photo2024", "lina.photo@example.com", "Your password cannot contain the name in your email address."),
        ("otohp.anil", "lina.photo@example.com", "Your password cannot be the name in your email address reversed."),
        # A name of one or two letters is refused only with digits or symbols around it.
        (
            "jo!!2024",
            "jo@example.com",
            "Your password cannot be the name in your email address with digits or symbols added.",
        ),
    ],
)
def test_passwords_made_from_the_email_are_refused(password: str, email: str, message: str) -> None:
    assert message in passwords.problems(password, username="someone", email=email)


@pytest.mark.parametrize(
    "password", [PASSWORD, "violet tundra orbit 42", "Tr0ub4dor&3Tr0ub4dor&3", "jo!!2024 violet tundra", "Jk8#mQ2vLp9x"]
)
def test_good_passwords_are_accepted(password: str) -> None:
    assert passwords.problems(password, username="carolina", email="jo@example.com") == []


def test_a_length_problem_comes_alone() -> None:
    assert passwords.problems("love", username="love") == [f"Use at least {passwords.MIN_LENGTH} characters."]
    assert passwords.problems("a" * (passwords.MAX_LENGTH + 1)) == [f"Use at most {passwords.MAX_LENGTH} characters."]


async def test_the_register_form_refuses_a_common_password_and_creates_nobody(app, tab: Tab) -> None:  # type: ignore[no-untyped-def]
    page = await register(tab, "carolina", password="iloveyou2")
    assert page.status == 422
    assert COMMON in page.text
    assert await fetch_user(app, "carolina") is None
