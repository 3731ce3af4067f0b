"""Resource indicators (RFC 8707): which API an access token is for.

A client may ask for the audiences it is registered for; without `resource`, tokens are
for the deployment's default audience. An authorization may name several resources; each
token request may then narrow to some of them, never widen. A token that grants `openid`
also names the UserInfo endpoint (README, "Resource indicators and UserInfo").
"""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib.errors import InvalidTarget
from chalicelib.stores.models import Client

MAX_RESOURCES = 10


def parse(values: list[str]) -> list[str]:
    """The requested resources: absolute URIs without a fragment (RFC 8707 2)."""
    if len(values) > MAX_RESOURCES:
        raise InvalidTarget("too many resource parameters")
    out: list[str] = []
    for value in values:
        try:
            parts = urlsplit(value)
        except ValueError:
            raise InvalidTarget("resource must be an absolute URI") from None
        if not parts.scheme or not parts.netloc or "#" in value or len(value) > 2000:
            raise InvalidTarget("resource must be an absolute URI without a fragment")
        if value not in out:
            out.append(value)
    return out


def allowed(client: Client, default_audience: str) -> list[str]:
    return [default_audience, *[r for r in client.resources if r != default_audience]]


def check(requested: list[str], permitted: list[str]) -> list[str]:
    """The requested resources if all are permitted; invalid_target otherwise."""
    refused = [r for r in requested if r not in permitted]
    if refused:
        raise InvalidTarget("this client may not ask for that resource", f"refused {refused}")
    return requested


def audience(
    resources: list[str], default_audience: str, userinfo: str | None = None
) -> str | list[str]:
    """The `aud` claim: one string for one audience (RFC 9068 2.2 allows either).

    `userinfo` (the UserInfo endpoint's URL, given when `openid` was granted) is added last,
    as Auth0 does: the token an OpenID client gets for its API also reads who signed in.
    The first audience stays the API's, so an API that reads only `aud[0]` still works."""
    named = list(resources) or [default_audience]
    if userinfo is not None and userinfo not in named:
        named.append(userinfo)
    return named[0] if len(named) == 1 else named
