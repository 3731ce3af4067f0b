"""When a second factor is needed, and what a sign-in proved (SECURITY.md item 61).

Levels, as the `acr` claim names them (chalicelib/protocol/acr.py), from the RFC 8176 amr
values of the sign-in: pwd alone is "0"; pwd otp mfa is "urn:tollgate:mfa"; a passkey with
user verification (hwk or swk, and user), alone or after a password, is "phr".

A sign-in needs the second factor when any of these holds: the user has a factor (once
enrolled, always asked), the user or the client requires MFA (`tollgate user require-mfa`,
`client create|update --require-mfa`), or the request's `acr_values` ask for it. A request
is met by a session whose level reaches the lowest level among the acr_values it asks for
(they are alternatives, OIDC Core 3.1.2.1); values Tollgate does not know are ignored, as
OIDC allows. A session below what the request needs gets the second step even inside single
sign-on: that is step-up.
"""

from __future__ import annotations

from chalicelib.protocol.acr import LEVELS, MFA, PASSWORD, PHISHING_RESISTANT

SUPPORTED = [PASSWORD, MFA, PHISHING_RESISTANT]
SECOND_FACTORS = {"otp", "hwk", "swk"}
PASSKEY_LEVEL = LEVELS[PHISHING_RESISTANT]


def parse_acr_values(raw: str | None) -> list[str]:
    """The acr_values Tollgate knows, in the order asked; others are left out."""
    return list(dict.fromkeys(v for v in (raw or "").split() if v in LEVELS))


def level_asked(acr_values: list[str]) -> int:
    return min((LEVELS[v] for v in acr_values), default=0)


def level_of(amr: list[str]) -> int:
    if ("hwk" in amr or "swk" in amr) and "user" in amr:
        return LEVELS[PHISHING_RESISTANT]
    return LEVELS[MFA] if SECOND_FACTORS & set(amr) else LEVELS[PASSWORD]


def gave_second_factor(amr: list[str]) -> bool:
    return level_of(amr) >= LEVELS[MFA]


def acr_of(amr: list[str]) -> str:
    """The `acr` of a sign-in that proved `amr` (ID and access tokens)."""
    level = level_of(amr)
    return next(name for name, value in LEVELS.items() if value == level)


def level_needed(
    *,
    acr_values: list[str],
    client_requires: bool,
    user_requires: bool,
    has_factor: bool,
    has_passkey: bool,
) -> int:
    """What a sign-in must reach. `phr` only for a user who has a passkey: others get the
    most they can reach, and the tokens' acr says what they got (acr_values are voluntary,
    OIDC Core 5.5.1.1), rather than a step-up that could never end."""
    floor = LEVELS[MFA] if client_requires or user_requires or has_factor else 0
    reachable = PASSKEY_LEVEL if has_passkey else LEVELS[MFA]
    return max(floor, min(level_asked(acr_values), reachable))


def with_factor(amr: list[str], method: str, verified: bool = False) -> list[str]:
    """The amr of a sign-in that added `method` (otp, hwk, swk) to what `amr` proved;
    `verified`: the authenticator verified the user (a passkey's UV: `user`)."""
    out = [m for m in amr if m != "mfa"]
    for value in (method, *(["user"] if verified else []), "mfa"):
        if value not in out:
            out.append(value)
    return out
