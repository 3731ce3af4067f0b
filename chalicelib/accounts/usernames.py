"""Usernames: one spelling per account (SECURITY.md item 38).

RFC 8265's UsernameCaseMapped profile maps full-width and half-width forms to their plain
forms (width mapping), lower-cases, applies NFC and then accepts most of Unicode's letters.
Tollgate applies a documented stricter profile, the same at creation and at sign-in:

1. width mapping (RFC 8265 3.3.1 step 1): full-width `alice` (U+FF41...) becomes `alice`;
2. then ASCII only: every other non-ASCII character is refused, which refuses mixed-script
   confusables (a Cyrillic a, U+0430, in `alice`), invisible characters (U+200B), bidi controls,
   compatibility look-alikes (the Kelvin sign) and combining marks, instead of mapping some
   of them onto an existing account;
3. case mapping: `Alice` is the account `alice` (so it can never be made beside it);
4. what remains: 1 to 64 of `a-z 0-9 . _ @ + -`, starting with a letter or a digit (so a
   name never reads as a command-line option). Email addresses fit.

Accounts are stored under the mapped name. A name made before this rule that does not fit
it can still be managed by the admin command line under its stored spelling, but cannot
sign in until it is recreated.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 64
_ALLOWED = re.compile(r"[a-z0-9][a-z0-9._@+-]{0,63}")


class InvalidUsername(ValueError):
    pass


def _width_mapped(char: str) -> str:
    decomposition = unicodedata.decomposition(char)
    if decomposition.startswith(("<wide>", "<narrow>")):
        return chr(int(decomposition.split()[1], 16))
    return char


def canonical(raw: str) -> str:
    """The account name `raw` stands for; InvalidUsername when it fits no account."""
    if len(raw) > 4 * MAX_LENGTH:
        raise InvalidUsername(f"a username has at most {MAX_LENGTH} characters")
    mapped = "".join(_width_mapped(char) for char in raw)
    if not mapped.isascii():
        raise InvalidUsername("a username is ASCII letters, digits and . _ @ + - only")
    mapped = mapped.lower()
    if not _ALLOWED.fullmatch(mapped):
        raise InvalidUsername(
            f"a username is 1 to {MAX_LENGTH} of a-z 0-9 . _ @ + -, starting with a letter or digit"
        )
    return mapped


def canonical_or_none(raw: str) -> str | None:
    try:
        return canonical(raw)
    except InvalidUsername:
        return None
