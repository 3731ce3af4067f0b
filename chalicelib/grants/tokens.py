"""The token response (RFC 6749 5.1): access token, ID token when `openid`, refresh token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from chalicelib.accounts import mfa
from chalicelib.deps import Deps
from chalicelib.ids import digest, new_secret
from chalicelib.protocol import resource
from chalicelib.protocol.params import Params
from chalicelib.stores.models import AuthorizationCode, Client, RefreshToken
from chalicelib.tokens import access_token, id_token


@dataclass(frozen=True)
class Authorization:
    """What a grant proved: who authorized which client for what, and how they signed in."""

    sub: str
    scopes: list[str]
    grant_id: str
    auth_time: int
    nonce: str | None = None
    sid: str | None = None
    amr: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)  # RFC 8707: what was authorized
    username: str | None = None  # whose sign-in: rotating a refresh token checks the user
    stamp: str | None = None  # and that the user was not disabled since (User.stamp)

    @classmethod
    def of(
        cls, record: AuthorizationCode | RefreshToken, nonce: str | None = None
    ) -> Authorization:
        """What a code or a refresh token carries of the authorization it stands for."""
        return cls(
            sub=record.sub,
            scopes=record.scopes,
            grant_id=record.grant_id,
            auth_time=record.auth_time,
            nonce=nonce,
            sid=record.sid,
            amr=record.amr,
            resources=record.resources,
            username=record.username,
            stamp=record.stamp,
        )


def wants_refresh(client: Client, scopes: list[str]) -> bool:
    """Refresh tokens go to clients allowed the grant; for OpenID requests only with
    offline_access (OIDC Core 11), which the person consented to."""
    if "refresh_token" not in client.grant_types:
        return False
    return "offline_access" in scopes if "openid" in scopes else True


def new_refresh(
    deps: Deps, client: Client, auth: Authorization, jkt: str | None = None
) -> tuple[str, RefreshToken]:
    """A new refresh token; a public client's is bound to the DPoP key `jkt` (RFC 9449 5:
    a confidential client's is not, its authentication already binds it)."""
    token = new_secret()
    now = deps.clock.now()
    record = RefreshToken(
        token_hash=digest(token),
        grant_id=auth.grant_id,
        client_id=client.client_id,
        sub=auth.sub,
        scopes=auth.scopes,
        issued_at=now,
        expires_at=now + deps.settings.refresh_token_ttl,
        auth_time=auth.auth_time,
        sid=auth.sid,
        amr=auth.amr,
        resources=auth.resources,
        username=auth.username,
        stamp=auth.stamp,
        dpop_jkt=jkt if client.is_public else None,
    )
    return token, record


def target(params: Params, authorized: list[str], default_audience: str) -> list[str]:
    """The token request's `resource`s: within what was authorized (RFC 8707 2.2)."""
    asked = resource.parse(params.get_all("resource"))
    return resource.check(asked, authorized or [default_audience]) if asked else authorized


def response(
    deps: Deps,
    client: Client,
    auth: Authorization,
    *,
    scopes: list[str] | None = None,
    resources: list[str] | None = None,
    refresh_token: str | None = None,
    with_id_token: bool = True,
    jkt: str | None = None,
) -> dict[str, Any]:
    """Mint the tokens. `scopes` and `resources` narrow the access token below the grant;
    `jkt` binds it to a DPoP key (token_type DPoP, RFC 9449 5)."""
    settings = deps.settings
    now = deps.clock.now()
    granted = scopes if scopes is not None else auth.scopes
    audiences = resources if resources is not None else auth.resources
    registry = resource.Registry.of(deps, audiences)
    registry.permitted(client, audiences)  # still registered (and still the client's)
    carried = registry.token_scopes(granted, audiences)
    ttl = registry.token_ttl(audiences, settings.access_token_ttl)
    token, _claims = access_token.mint(
        deps.signer,
        issuer=settings.issuer,
        audience=resource.audience(
            audiences,
            settings.audience,
            userinfo=settings.userinfo_audience if "openid" in carried else None,
        ),
        sub=auth.sub,
        client_id=client.client_id,
        scopes=carried,
        now=now,
        ttl=ttl,
        grant_id=auth.grant_id,
        auth_time=auth.auth_time,
        jkt=jkt,
        acr=mfa.acr_of(auth.amr),
    )
    body: dict[str, Any] = {
        "access_token": token,
        "token_type": "DPoP" if jkt else "Bearer",
        "expires_in": ttl,
        "scope": " ".join(carried),  # the access token's (RFC 6749 5.1)
    }
    if with_id_token and "openid" in granted:
        body["id_token"] = id_token.mint(
            deps.signer,
            issuer=settings.issuer,
            client_id=client.client_id,
            sub=auth.sub,
            now=now,
            ttl=settings.access_token_ttl,
            auth_time=auth.auth_time,
            nonce=auth.nonce,
            amr=auth.amr,
            sid=auth.sid,
            access_token=token,
            alg=client.id_token_signed_response_alg,
            acr=mfa.acr_of(auth.amr),
        )
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body
