"""What an authorization request (RFC 6749 4.1.1, RFC 7636, OIDC Core 3.1.2) must satisfy,
checked by /authorize and by /par (RFC 9126 2.1: a pushed request is validated as an
authorization request would be), with the same code.

`prove_target` proves the client and where its answers go; `validate` checks everything else and
returns what a pending authorization keeps.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.deps import Deps
from chalicelib.errors import (
    InvalidRequest,
    OAuthError,
    PageError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from chalicelib.protocol import pkce, redirect_uri, resource, scope
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.tokens import dpop, id_token

PROMPTS = {"none", "login", "consent", "select_account"}
# What an anonymous request may make us store is bounded (SECURITY.md item 31): these are
# kept in the pending authorization until sign-in. OIDC sets no maxima; these are generous
# for a random state or nonce (a 256-bit value is 43 characters) and for an email address.
MAX_STATE = 512
MAX_NONCE = 512
MAX_LOGIN_HINT = 256
# What a pushed request keeps (RFC 9126 2.1): the parameters these checks read. Others are
# ignored by /authorize, so they are not stored either (SECURITY.md item 31).
KNOWN = frozenset(
    {
        "client_id",
        "response_type",
        "response_mode",
        "redirect_uri",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "prompt",
        "max_age",
        "login_hint",
        "id_token_hint",
        "resource",
        "request",
        "request_uri",
        "dpop_jkt",
        "acr_values",
    }
)
# FAPI 2.0 5.3.2.1-11: a FAPI 2.0 client's codes live at most 60 seconds.
FAPI2_CODE_TTL = 60


@dataclass(frozen=True)
class Target:
    """The proven client and where its answers go."""

    client: Client
    redirect_uri: str
    sent: bool  # redirect_uri was in the request (then the token request must repeat it)


@dataclass(frozen=True)
class Checked:
    """A valid authorization request's values."""

    scopes: list[str]
    resources: list[str]
    prompt: set[str]
    max_age: int | None
    state: str | None
    nonce: str | None
    login_hint: str | None
    challenge: str
    hinted_sub: str | None  # the subject of a valid id_token_hint
    dpop_jkt: str | None  # RFC 9449 10: the code is bound to this key's thumbprint


def prove_target(deps: Deps, params: Params) -> Target:
    """The client and redirect URI; an HTML page (never a redirect) until both are proven."""
    try:
        client_id = params.get("client_id")
        requested = params.get("redirect_uri")
    except OAuthError as error:
        raise PageError("Invalid request", "This sign-in request is malformed.") from error
    if client_id is None:
        raise PageError("Invalid request", "The request does not name an application.")
    client = deps.clients.get(client_id)
    if client is None:
        raise PageError(
            "Unknown application",
            "The application that sent you here is not registered with this server.",
            detail=f"unknown client_id {client_id!r}",
        )
    return target_of(client, requested)


def target_of(client: Client, requested: str | None) -> Target:
    if requested is None:
        if len(client.redirect_uris) != 1:
            raise PageError(
                "Invalid request",
                "The request does not say where to return to.",
                detail="redirect_uri missing and several registered",
            )
        return Target(client, client.redirect_uris[0], sent=False)
    if not redirect_uri.matches(client.redirect_uris, requested):
        shown = requested if len(requested) <= 300 else requested[:300] + "..."
        raise PageError(
            "Invalid redirect",
            f"The application {client.name!r} (client_id {client.client_id}) asked to return "
            f"to {shown}, an address it has not registered.",
            detail=f"unregistered redirect_uri {requested!r}",
        )
    return Target(client, requested, sent=True)


def validate(deps: Deps, params: Params, target: Target) -> Checked:
    params.reject_duplicates()
    if "request" in params:
        raise RequestNotSupported("request objects are not supported")
    if "request_uri" in params:
        raise RequestUriNotSupported("request_uri is not supported")
    response_type = params.require("response_type")
    if response_type != "code":
        raise UnsupportedResponseType("only response_type=code is supported")
    response_mode = params.get("response_mode")
    if response_mode not in (None, "query"):
        raise InvalidRequest("only response_mode=query is supported")
    client = target.client
    if "authorization_code" not in client.grant_types:
        raise UnauthorizedClient("this client may not use the authorization code grant")
    scopes, resources = _scopes_and_resources(deps, params, client)
    prompt = _prompt(params.get("prompt"))
    max_age = _max_age(params.get("max_age"))
    state, nonce, login_hint = (
        _bounded(params, name, most)
        for name, most in (
            ("state", MAX_STATE),
            ("nonce", MAX_NONCE),
            ("login_hint", MAX_LOGIN_HINT),
        )
    )
    challenge = pkce.check_challenge(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        # FAPI 2.0 5.3.2.2-5: PKCE with S256, always (registration forbids the opt-out too).
        required=client.is_fapi2 or pkce.required(client, scopes, nonce),
    )
    return Checked(
        scopes=scopes,
        resources=resources,
        prompt=prompt,
        max_age=max_age,
        state=state,
        nonce=nonce,
        login_hint=login_hint,
        challenge=challenge,
        hinted_sub=_hinted_sub(deps, params.get("id_token_hint")),
        dpop_jkt=_dpop_jkt(params),
    )


def _scopes_and_resources(
    deps: Deps, params: Params, client: Client
) -> tuple[list[str], list[str]]:
    """What the authorization is for: the resources (RFC 8707) and the scopes it grants of
    those asked for, by the client's scope policy; some scope must be for the resources."""
    requested = scope.parse(params.get("scope"))
    asked = resource.parse(params.get_all("resource"))
    if not requested and not asked:
        raise InvalidRequest("scope is required")
    registry = resource.Registry.of(deps, asked)
    resources = registry.permitted(client, asked)
    if not requested:
        # An MCP client may name its server and no scope (SECURITY.md 71).
        requested = registry.default_scopes(client, resources)
    scopes = scope.grant(requested, registry.grantable(client, resources), client.scope_policy)
    registry.token_scopes(scopes, resources)
    return scopes, resources


def code_ttl(deps: Deps, client: Client) -> int:
    """The lifetime of this client's codes."""
    ttl = deps.settings.code_ttl
    return min(ttl, FAPI2_CODE_TTL) if client.is_fapi2 else ttl


def _dpop_jkt(params: Params) -> str | None:
    """RFC 9449 10: `dpop_jkt` binds the code to this key's thumbprint (SECURITY.md 47)."""
    value = params.get("dpop_jkt")
    if value is not None and not dpop.is_thumbprint(value):
        raise InvalidRequest("dpop_jkt is not a JWK SHA-256 thumbprint")
    return value


def _bounded(params: Params, name: str, most: int) -> str | None:
    value = params.get(name)
    if value is not None and len(value) > most:
        raise InvalidRequest(f"{name} is longer than {most} characters")
    return value


def _hinted_sub(deps: Deps, hint: str | None) -> str | None:
    if hint is None:
        return None
    claims = id_token.read_hint(deps.signer, hint, deps.settings.issuer)
    if claims is None:
        raise InvalidRequest("id_token_hint is not an ID token from this issuer")
    return str(claims["sub"])


def _prompt(raw: str | None) -> set[str]:
    values = set((raw or "").split())
    unknown = values - PROMPTS
    if unknown:
        raise InvalidRequest("unsupported prompt value", f"prompt {sorted(unknown)}")
    if "none" in values and len(values) > 1:
        raise InvalidRequest("prompt=none cannot be combined with other values")
    return values


def _max_age(raw: str | None) -> int | None:
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 10:
        raise InvalidRequest("max_age must be a non-negative integer")
    return int(raw)
