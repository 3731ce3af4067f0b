"""When a second factor is needed, and what a sign-in proved (SECURITY.md item 61).

Levels, as the `acr` claim names them (chalicelib/protocol/acr.py), from the RFC 8176 amr
values of the sign-in: pwd alone is "0"; pwd otp mfa is "urn:tollgate:mfa"; a passkey with
user verification (hwk or swk, and user) would be "phr".

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

SUPPORTED = [PASSWORD, MFA]  # phr once passkeys sign in (issue 15 item 1)
SECOND_FACTORS = {"otp", "hwk", "swk"}
# What a sign-in here can reach today: a request for more gets the most there is, and its
# tokens' acr says what it got (acr_values are voluntary, OIDC Core 5.5.1.1).
REACHABLE = max(LEVELS[v] for v in SUPPORTED)


def parse_acr_values(raw: str | None) -> list[str]:
    """The acr_values Tollgate knows, in the order asked; others are left out."""
    return list(dict.fromkeys(v for v in (raw or "").split() if v in LEVELS))


def level_asked(acr_values: list[str]) -> int:
    return min((LEVELS[v] for v in acr_values), default=0)


def level_of(amr: list[str]) -> int:
    if ("hwk" in amr or "swk" in amr) and "user" in amr:
        return LEVELS[PHISHING_RESISTANT]
    return LEVELS[MFA] if SECOND_FACTORS & set(amr) else LEVELS[PASSWORD]


def acr_of(amr: list[str]) -> str:
    """The `acr` of a sign-in that proved `amr` (ID and access tokens)."""
    level = level_of(amr)
    return next(name for name, value in LEVELS.items() if value == level)


def level_needed(
    *, acr_values: list[str], client_requires: bool, user_requires: bool, has_factor: bool
) -> int:
    floor = LEVELS[MFA] if client_requires or user_requires or has_factor else 0
    return max(floor, min(level_asked(acr_values), REACHABLE))


def with_factor(amr: list[str], method: str) -> list[str]:
    """The amr of a sign-in that added `method` (otp, hwk, swk) to what `amr` proved."""
    out = [m for m in amr if m != "mfa"]
    for value in (method, "mfa"):
        if value not in out:
            out.append(value)
    return out
