"""Standard claims released by scope (OpenID Connect Core 5.1 and 5.4)."""

from __future__ import annotations

from typing import Any

from chalicelib.stores.models import User

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "profile": (
        "name",
        "family_name",
        "given_name",
        "middle_name",
        "nickname",
        "preferred_username",
        "profile",
        "picture",
        "website",
        "gender",
        "birthdate",
        "zoneinfo",
        "locale",
        "updated_at",
    ),
    "email": ("email", "email_verified"),
    "address": ("address",),
    "phone": ("phone_number", "phone_number_verified"),
}

# Every claim a user record can hold (what `tollgate user set-claims` accepts).
STANDARD = tuple(name for names in SCOPE_CLAIMS.values() for name in names)


def _all_claims(user: User) -> dict[str, Any]:
    values: dict[str, Any] = {k: v for k, v in user.claims.items() if k in STANDARD}
    if user.name:
        values["name"] = user.name
    if user.email:
        values["email"] = user.email
        values["email_verified"] = user.email_verified
    if user.updated_at:
        values["updated_at"] = user.updated_at
    if "phone_number" in values:
        values.setdefault("phone_number_verified", False)
    return values


def released(user: User, scopes: list[str]) -> dict[str, Any]:
    """`sub` and the claims the user has that the granted scopes release."""
    held = _all_claims(user)
    out: dict[str, Any] = {"sub": user.sub}
    for scope in scopes:
        for name in SCOPE_CLAIMS.get(scope, ()):
            if name in held:
                out[name] = held[name]
    return out


def supported() -> list[str]:
    return [
        "sub",
        "iss",
        "aud",
        "exp",
        "iat",
        "auth_time",
        "nonce",
        "acr",
        "amr",
        "azp",
        "sid",
        *STANDARD,
    ]
