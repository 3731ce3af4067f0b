"""Proof Key for Code Exchange (RFC 7636), S256 only (OAuth 2.1 drops `plain`)."""

from __future__ import annotations

import base64
import hashlib
import re

from chalicelib.errors import InvalidGrant, InvalidRequest
from chalicelib.ids import same
from chalicelib.stores.models import Client

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}$")
# An S256 challenge is the base64url SHA-256 of the verifier: exactly 43 characters.
_CHALLENGE = re.compile(r"^[A-Za-z0-9\-_]{43}$")


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def required(client: Client, scopes: list[str], nonce: str | None) -> bool:
    """PKCE is required of every client by default (OAuth 2.1 4.1.1, SECURITY.md item 36).

    A confidential client registered with `pkce_required: false` may leave it out, but only
    of an OpenID Connect request with a nonce: the nonce in the ID token then binds the code
    to the client's own session, which is what PKCE does otherwise (RFC 9700 2.1.1).
    """
    opted_out = not client.pkce_required and not client.is_public
    return not (opted_out and "openid" in scopes and nonce is not None)


def check_challenge(challenge: str | None, method: str | None, *, required: bool) -> str:
    """Validate the authorization request's PKCE parameters; "" means none was sent."""
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method without code_challenge")
        if required:
            raise InvalidRequest("code_challenge is required (PKCE with S256)")
        return ""
    if method != "S256":
        raise InvalidRequest("code_challenge_method must be S256", f"method {method!r}")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest("malformed code_challenge")
    return challenge


def verify(challenge: str, verifier: str | None) -> None:
    """At the token endpoint: the verifier must match the challenge stored with the code."""
    if not challenge:
        if verifier is not None:
            raise InvalidGrant("code_verifier sent without a code_challenge", "unexpected verifier")
        return
    if verifier is None:
        raise InvalidGrant("code_verifier is required", "missing verifier")
    if not _VERIFIER.fullmatch(verifier):
        raise InvalidGrant("malformed code_verifier", "verifier format")
    if not same(s256(verifier), challenge):
        raise InvalidGrant("code_verifier does not match", "PKCE mismatch")
