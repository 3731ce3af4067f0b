"""Authentication context levels (the `acr` claim, OIDC Core 2), ordered: a level meets every
level below it. Shared by the sign-in policy (chalicelib/accounts/mfa.py) and the
authorizer's per-route requirement (chalicelib/authorizer/policy.py, RFC 9470).

    "0"                 a password alone (ISO/IEC 29115 level 0: nothing stronger claimed)
    "urn:tollgate:mfa"  a password and a second factor
    "phr"               phishing-resistant (OpenID EAP ACR Values 1.0): a passkey
"""

from __future__ import annotations

PASSWORD = "0"  # noqa: S105 (a level's name)
MFA = "urn:tollgate:mfa"
PHISHING_RESISTANT = "phr"
LEVELS = {PASSWORD: 0, MFA: 1, PHISHING_RESISTANT: 2}


def meets(held: object, needed: str) -> bool:
    """Whether a token's `acr` (any JSON value) meets the level `needed` (a known name)."""
    return isinstance(held, str) and LEVELS.get(held, -1) >= LEVELS[needed]
