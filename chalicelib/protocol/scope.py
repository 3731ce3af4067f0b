"""Scope parameter (RFC 6749 3.3): space-delimited, order-free, no duplicates kept."""

from __future__ import annotations

import re

from chalicelib.errors import InvalidScope

_TOKEN = re.compile(r"^[\x21\x23-\x5b\x5d-\x7e]+$")


def parse(raw: str | None) -> list[str]:
    """The requested scopes in first-seen order, without duplicates."""
    if raw is None:
        return []
    out: list[str] = []
    for token in raw.split(" "):
        if not token:
            continue
        if not _TOKEN.match(token):
            raise InvalidScope("malformed scope", f"scope token {token!r}")
        if token not in out:
            out.append(token)
    return out


def check_allowed(requested: list[str], allowed: list[str]) -> None:
    unknown = [s for s in requested if s not in allowed]
    if unknown:
        raise InvalidScope(refused_description(unknown), f"unknown {unknown}")


def refused_description(refused: list[str]) -> str:
    """Names the refused scopes (well-formed scope tokens are safe in error_description)."""
    return f"scope not allowed for this client: {render(refused)}"


def render(scopes: list[str]) -> str:
    return " ".join(scopes)
