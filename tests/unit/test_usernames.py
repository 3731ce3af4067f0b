"""SECURITY.md item 38: usernames follow RFC 8265 UsernameCaseMapped, in a stricter profile
(chalicelib/accounts/usernames.py): one spelling per account, no look-alikes."""

from __future__ import annotations

import pytest

from chalicelib.accounts.usernames import InvalidUsername, canonical

MAPPED = [
    ("alice", "alice"),
    ("Alice", "alice"),
    ("ALICE", "alice"),
    ("\uff41\uff4c\uff49\uff43\uff45", "alice"),  # full-width, RFC 8265 width mapping
    ("\uff21lice", "alice"),  # full-width capital A
    ("alice.liddell+oauth@example.org", "alice.liddell+oauth@example.org"),
    ("a_1-2", "a_1-2"),
    ("7", "7"),
    ("x" * 64, "x" * 64),
]

REFUSED = [
    "\u0430lice",  # Cyrillic a: a mixed-script confusable
    "al\u0456ce",  # Cyrillic i
    "alice\u200b",  # zero-width space
    "\u200dalice",  # zero-width joiner
    "alice\u202e",  # right-to-left override (bidi)
    "\u212alice",  # Kelvin sign, which NFKC would turn into K
    "\u0130lice",  # I with dot above, which lower() turns into i + a combining dot
    "ali\u0301ce",  # combining acute accent
    "al\u00efce",  # precomposed i with diaeresis: not ASCII
    "alice bob",
    "alice\t",
    "",
    "-alice",  # reads as a command-line option
    ".alice",
    "x" * 65,
    "x" * 1000,
    "alice\x00",
    "al/ice",
    "al'ice",
]


@pytest.mark.parametrize(("raw", "account"), MAPPED)
def test_spellings_of_one_account_map_to_it(raw: str, account: str) -> None:
    assert canonical(raw) == account


@pytest.mark.parametrize("raw", REFUSED)
def test_look_alikes_and_invisible_characters_are_refused(raw: str) -> None:
    with pytest.raises(InvalidUsername):
        canonical(raw)


def test_mapping_is_idempotent() -> None:
    for raw, account in MAPPED:
        assert canonical(account) == account, raw
