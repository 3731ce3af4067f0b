"""Scope parameter (RFC 6749 3.3): space-delimited, order-free, no duplicates kept."""

from __future__ import annotations

import re

from chalicelib.errors import InvalidScope
from chalicelib.stores.scope_policies import SUBSET

_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")
# The OpenID Connect scopes: about a person and the grant, never a machine's or an API's.
OIDC_SCOPES = frozenset({"openid", "offline_access", "profile", "email", "address", "phone"})


def parse(raw: str | None) -> list[str]:
    """The requested scopes in first-seen order, without duplicates."""
    if raw is None:
        return []
    out: list[str] = []
    for token in raw.split(" "):
        if not token:
            continue
        if not _TOKEN.fullmatch(token):
            raise InvalidScope("malformed scope", f"scope token {token!r}")
        if token not in out:
            out.append(token)
    return out


def grant(requested: list[str], allowed: list[str], policy: str) -> list[str]:
    """The requested scopes that may be granted (RFC 6749 3.3). A client whose policy is
    `subset` gets those it may have; otherwise, or when none remains, invalid_scope."""
    refused = [s for s in requested if s not in allowed]
    if not refused:
        return requested
    kept = [s for s in requested if s in allowed]
    if policy != SUBSET or not kept:
        raise InvalidScope(refused_description(refused), f"unknown {refused}")
    return kept


def refused_description(refused: list[str]) -> str:
    """Names the refused scopes (well-formed scope tokens are safe in error_description)."""
    return f"scope not allowed for this client: {render(refused)}"


def render(scopes: list[str]) -> str:
    return " ".join(scopes)
