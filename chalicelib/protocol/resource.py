"""Resource indicators (RFC 8707): which API an access token is for, and what it may carry.

Resource servers are registered records (`tollgate resource create`, stores/resources.py).
A client may ask for any registered resource, unless its registration lists the resources
it may ask for (`client create --resource`): then only those. Without `resource`, tokens
are for the deployment's default audience (TOLLGATE_AUDIENCE, or the issuer). A URI that
is neither is refused with invalid_target.

A token for resources carries their URIs as `aud`, only the scopes they define, and lives
the shortest of their token lifetimes (never longer than the stage's). A token that grants
`openid` also names the UserInfo endpoint (README, "Resource indicators and UserInfo") and
so carries the OpenID Connect scopes too (UserInfo releases claims by them). An unregistered
default audience takes every scope, as it always did. An authorization may name several
resources; each token request may then narrow to some of them, never widen.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from chalicelib.errors import InvalidScope, InvalidTarget
from chalicelib.protocol import scope
from chalicelib.stores.models import Client, Resource

if TYPE_CHECKING:
    from chalicelib.deps import Deps

MAX_RESOURCES = 10
MAX_URI = 2000
MAX_REGISTERED_URI = 512  # a sort key (RESOURCE#<uri>) holds at most 1024 bytes


def parse(values: list[str]) -> list[str]:
    """The requested resources: absolute URIs without a fragment (RFC 8707 2)."""
    if len(values) > MAX_RESOURCES:
        raise InvalidTarget("too many resource parameters")
    out: list[str] = []
    for value in values:
        if not is_resource_uri(value, MAX_URI):
            raise InvalidTarget("resource must be an absolute URI without a fragment")
        if value not in out:
            out.append(value)
    return out


def is_resource_uri(value: str, most: int = MAX_REGISTERED_URI) -> bool:
    """An absolute URI without a fragment (RFC 8707 2), printable ASCII, at most `most`."""
    if len(value) > most or not value.isascii() or not value.isprintable() or " " in value:
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return bool(parts.scheme and parts.netloc and parts.hostname) and "#" not in value


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


@dataclass(frozen=True)
class Registry:
    """The registered resources a request names, and the deployment's default audience."""

    resources: dict[str, Resource]
    default: str

    @classmethod
    def of(cls, deps: Deps, uris: Iterable[str] = ()) -> Registry:
        # Not the default audience: it is asked for by every request that names no resource.
        return cls(deps.resources.find(list(uris)), deps.settings.audience)

    def permitted(self, client: Client, requested: list[str]) -> list[str]:
        """The requested resources if the client may ask for each; invalid_target if not."""
        unknown = [r for r in requested if r != self.default and r not in self.resources]
        if unknown:
            raise InvalidTarget("unknown resource", f"unregistered {unknown}")
        check(requested, self.kept(client, requested))
        return requested

    def kept(self, client: Client, uris: list[str]) -> list[str]:
        """Those of `uris` the client may ask for now (a refresh keeps no other)."""
        return [
            uri
            for uri in uris
            if uri == self.default
            or (uri in self.resources and (not client.resources or uri in client.resources))
        ]

    def scopes(self, audiences: list[str]) -> set[str] | None:
        """The scopes the audiences define; None: any (an unregistered default audience)."""
        allowed: set[str] = set()
        for uri in audiences or [self.default]:
            found = self.resources.get(uri)
            if found is None:  # only the default audience is let through unregistered
                return None
            allowed.update(found.scopes)
        return allowed

    def grantable(self, client: Client, audiences: list[str]) -> list[str]:
        """The client's scopes an authorization for `audiences` may grant: those the
        resources define, and the OpenID Connect ones (ID token, refresh token, UserInfo)."""
        allowed = self.scopes(audiences)
        if allowed is None:
            return list(client.scopes)
        return [s for s in client.scopes if s in allowed or s in scope.OIDC_SCOPES]

    def default_scopes(self, client: Client, audiences: list[str]) -> list[str]:
        """The scopes of a request that names resources and no scope: every scope those
        registered resources define that the client may have, and no OpenID Connect one (no
        `openid`: an OAuth request). invalid_scope when there is none, or when an audience
        is the unregistered default one, which defines none (SECURITY.md 71)."""
        allowed = self.scopes(audiences)
        kept = [s for s in client.scopes if allowed is not None and s in allowed]
        if not kept:
            raise InvalidScope(
                "scope is required: the requested resource defines no scope this client may have",
                f"no default scopes for {audiences}",
            )
        return kept

    def token_scopes(self, granted: list[str], audiences: list[str]) -> list[str]:
        """The granted scopes an access token for `audiences` carries: the resources', and
        the OpenID Connect ones when it grants `openid` (it then names UserInfo as well);
        invalid_scope when none is left."""
        allowed = self.scopes(audiences)
        if allowed is None:
            return granted
        oidc = "openid" in granted
        kept = [s for s in granted if s in allowed or (oidc and s in scope.OIDC_SCOPES)]
        if granted and not kept:
            raise InvalidScope(
                "none of the requested scopes is defined by the requested resource",
                f"scopes {granted} for {audiences}",
            )
        return kept

    def token_ttl(self, audiences: list[str], stage_ttl: int) -> int:
        """The shortest lifetime of the audiences', never above the stage's: signing keys
        stay published for the stage's lifetime only (tokens/signer.py)."""
        found = (self.resources.get(uri) for uri in audiences or [self.default])
        return min([stage_ttl, *(r.token_ttl for r in found if r is not None and r.token_ttl)])
