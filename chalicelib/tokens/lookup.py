"""Finding a presented token for revocation (RFC 7009 2.1) and introspection (RFC 7662 2.1):
an access token Tollgate issued (a JWT verified with its own keys), or a refresh token (read
by its hash).

The `token_type_hint` orders the search and never limits it: "If the server is unable to
locate the token using the given hint, it MUST extend its search across all of its supported
token types" (RFC 7009 2.1, RFC 7662 2.1). An unknown hint value is ignored. The token's
shape skips what cannot succeed: a refresh token is a base64url secret (no '.'), an access
token a compact JWS (two '.'), so a lookup reads the store at most once.

An access token is verified for whichever audience it names (RFC 8707 resources included):
the signature covers `aud`, and here the question is only whether Tollgate issued it and
whether it is still within its lifetime, not whether some API should accept it.
"""

from __future__ import annotations

from chalicelib.authorizer.errors import InvalidToken
from chalicelib.authorizer.in_process import keys_for
from chalicelib.authorizer.validate import Claims, verify
from chalicelib.deps import Deps
from chalicelib.grants.refresh_token import MAX_TOKEN
from chalicelib.ids import digest
from chalicelib.stores.models import RefreshToken
from chalicelib.tokens import jose

ACCESS_TOKEN = "access_token"  # noqa: S105 (a token_type_hint value, RFC 7009 2.1)
REFRESH_TOKEN = "refresh_token"  # noqa: S105
HINTS = (ACCESS_TOKEN, REFRESH_TOKEN)

# The largest clock-skew leeway any of Tollgate's validators may apply after `exp`
# (TOLLGATE_LEEWAY is at most 300: chalicelib/authorizer/config.py). A revoked token is
# remembered this long past its `exp`, and an expired one is revocable for as long.
MAX_LEEWAY = 300


def _claimed_audience(token: str) -> str | None:
    """The first `aud` of an unverified JWT payload (verification follows), or None."""
    try:
        payload = jose.read(token).claims
    except jose.JoseError:
        return None
    aud = payload.get("aud")
    if isinstance(aud, list) and aud:
        aud = aud[0]
    return aud if isinstance(aud, str) and aud else None


def access_token(deps: Deps, token: str, *, leeway: int) -> Claims | None:
    """The claims of an access token Tollgate issued and that has not expired (by more than
    `leeway` seconds); None for anything else. AuthorizerUnavailable when the keys cannot
    be read."""
    audience = _claimed_audience(token)
    if audience is None:
        return None
    try:
        return verify(
            token,
            keys_for(deps),
            issuer=deps.settings.issuer,
            audience=audience,
            leeway=leeway,
            now=deps.clock.now(),
        )
    except InvalidToken:
        return None


def refresh_token(deps: Deps, token: str) -> RefreshToken | None:
    """The stored refresh token, unexpired (consumed or not); None when there is none.
    StoreUnavailable when the store cannot be read."""
    if len(token) > MAX_TOKEN or "." in token:
        return None
    return deps.store.refresh.get(digest(token))


def find(deps: Deps, token: str, hint: str | None, *, leeway: int) -> Claims | RefreshToken | None:
    """The presented token, searched in the hinted type first, then in the other."""
    order = (
        (REFRESH_TOKEN, ACCESS_TOKEN) if hint == REFRESH_TOKEN else (ACCESS_TOKEN, REFRESH_TOKEN)
    )
    for kind in order:
        found = (
            access_token(deps, token, leeway=leeway)
            if kind == ACCESS_TOKEN
            else refresh_token(deps, token)
        )
        if found is not None:
            return found
    return None
