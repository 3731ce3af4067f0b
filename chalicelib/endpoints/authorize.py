"""Authorization endpoint (RFC 6749 4.1.1, RFC 7636, RFC 9207, OIDC Core 3.1.2).

Checks run in two phases. Until client_id and redirect_uri are proven, every error is an
HTML page and never a redirect (RFC 6749 4.1.2.1, SECURITY.md item 3). After that, errors
go back to the client's registered redirect URI with `state` and `iss`.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.accounts import consents, mfa, rate_limit, sessions
from chalicelib.deps import Deps
from chalicelib.endpoints.authorization_response import error_redirect, issue_code
from chalicelib.errors import (
    ConsentRequired,
    InteractionRequired,
    InvalidRequest,
    LoginRequired,
    OAuthError,
    PageError,
    RequestNotSupported,
    RequestUriNotSupported,
    UnauthorizedClient,
    UnsupportedResponseType,
)
from chalicelib.http import cookies, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import digest, new_id, new_secret
from chalicelib.protocol import acr, pkce, redirect_uri, resource, scope
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client, Interaction, Session, User
from chalicelib.tokens import dpop, id_token

PROMPTS = {"none", "login", "consent", "select_account"}
# What an anonymous request may make us store is bounded (SECURITY.md item 31): these are
# kept in the pending authorization until sign-in. OIDC sets no maxima; these are generous
# for a random state or nonce (a 256-bit value is 43 characters) and for an email address.
MAX_STATE = 512
MAX_NONCE = 512
MAX_LOGIN_HINT = 256


@dataclass(frozen=True)
class Target:
    """The proven client and where its answers go."""

    client: Client
    redirect_uri: str
    sent: bool  # redirect_uri was in the request (then the token request must repeat it)


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    raw = request.query if request.method == "GET" else _form_or_page(request)
    params = Params(raw)
    target = prove_target(deps, params)
    states = raw.get("state", [])
    # Echo state only when it is one value of acceptable length: never reflect what was refused.
    state = states[0] if len(states) == 1 and len(states[0]) <= MAX_STATE else None
    try:
        return _authorize(deps, request, params, target)
    except OAuthError as error:
        return error_redirect(deps, target.redirect_uri, error, state)


def _form_or_page(request: HttpRequest) -> dict[str, list[str]]:
    try:
        return request.form()
    except OAuthError as error:
        raise PageError("Invalid request", "This sign-in request is malformed.", 400) from error


def prove_target(deps: Deps, params: Params) -> Target:
    """The registered client and redirect URI the request names; PageError otherwise."""
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


def _dpop_jkt(params: Params) -> str | None:
    """RFC 9449 10: `dpop_jkt` binds the code to this key's thumbprint (SECURITY.md 47)."""
    value = params.get("dpop_jkt")
    if value is not None and not dpop.is_thumbprint(value):
        raise InvalidRequest("dpop_jkt is not a JWK SHA-256 thumbprint")
    return value


def _authorize(deps: Deps, request: HttpRequest, params: Params, target: Target) -> HttpResponse:
    _check_form(params)
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
        required=pkce.required(client, scopes, nonce),
    )

    found = sessions.current(deps, request)
    hinted = _hinted_sub(deps, params.get("id_token_hint"))
    now = deps.clock.now()
    logged_in = (
        found is not None
        and "login" not in prompt
        and (max_age is None or now - found[0].auth_time <= max_age)
        # Someone else is signed in than the ID token hint names: they must sign in.
        and (hinted is None or hinted == found[1].sub)
    )
    if not logged_in and "none" in prompt:
        raise LoginRequired("the user is not signed in")
    acr_values = mfa.parse_acr_values(params.get("acr_values"))
    # Signed in, but with less than this request needs: the second step first (step-up).
    step_up = logged_in and found is not None and _below(deps, found, client, acr_values)
    if step_up and "none" in prompt:
        raise InteractionRequired("a second factor is needed")

    interaction_id = new_id()
    csrf = new_secret()
    browser = request.cookies.get(cookies.name(deps.settings, cookies.BROWSER))
    set_browser = browser is None or len(browser) > 128
    if browser is None or set_browser:
        browser = new_secret()
    interaction = Interaction(
        interaction_id=interaction_id,
        client_id=client.client_id,
        redirect_uri=target.redirect_uri,
        redirect_uri_sent=target.sent,
        scopes=scopes,
        state=state,
        code_challenge=challenge,
        nonce=nonce,
        prompt=sorted(prompt),
        max_age=max_age,
        login_hint=login_hint,
        csrf=csrf,
        browser_hash=digest(browser),
        expires_at=now + deps.settings.interaction_ttl,
        created_at=now,
        sid_hash=found[0].sid_hash if logged_in and found and not step_up else None,
        resources=resources,
        dpop_jkt=_dpop_jkt(params),
        acr_values=acr_values,
    )
    if step_up and found is not None:
        interaction.mfa_username = found[1].username
        interaction.mfa_amr = list(found[0].amr)
    elif logged_in and found is not None:
        session, user = found
        if "consent" not in prompt and consents.covers(
            deps.store, user.sub, client.client_id, scopes
        ):
            return issue_code(deps, interaction, session)
        if "none" in prompt:
            raise ConsentRequired("the user has not consented to these scopes")
    # SECURITY.md item 31: the writes one source can cause are bounded.
    wait = rate_limit.for_authorize(deps, request.source_ip).failed()
    if wait is not None:
        return _too_many(deps, wait)
    deps.store.interactions.put(interaction)
    step = "mfa" if step_up else "consent" if interaction.sid_hash else "login"
    location = deps.settings.endpoint(f"/interaction/{interaction_id}/{step}")
    response = HttpResponse.redirect(location)
    if set_browser:
        # Binds the pending authorization to this browser: a leaked interaction URL is useless.
        response.cookies.append(
            cookies.set_cookie(deps.settings, cookies.BROWSER, browser, deps.settings.session_ttl)
        )
    return response


def _check_form(params: Params) -> None:
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


def _below(deps: Deps, found: tuple[Session, User], client: Client, acr_values: list[str]) -> bool:
    """Whether the session proved less than this request needs (SECURITY.md item 61)."""
    session, user = found
    level = mfa.level_of(session.amr)
    needed = mfa.level_needed(
        acr_values=acr_values,
        client_requires=client.require_mfa,
        user_requires=user.mfa_required,
        has_factor=False,
    )
    if level < needed:
        return True
    if level >= acr.LEVELS[acr.MFA]:
        return False
    # A password-only session of a user who has enrolled a factor since: one Query.
    return bool(deps.store.factors.list_for(user.username))


def _scopes_and_resources(
    deps: Deps, params: Params, client: Client
) -> tuple[list[str], list[str]]:
    """What the authorization is for: the resources (RFC 8707) and the scopes it grants of
    those asked for, by the client's scope policy; some scope must be for the resources."""
    requested = scope.parse(params.get("scope"))
    if not requested:
        raise InvalidRequest("scope is required")
    asked = resource.parse(params.get_all("resource"))
    registry = resource.Registry.of(deps, asked)
    resources = registry.permitted(client, asked)
    scopes = scope.grant(requested, registry.grantable(client, resources), client.scope_policy)
    registry.token_scopes(scopes, resources)
    return scopes, resources


def _bounded(params: Params, name: str, most: int) -> str | None:
    value = params.get(name)
    if value is not None and len(value) > most:
        raise InvalidRequest(f"{name} is longer than {most} characters")
    return value


def _too_many(deps: Deps, wait: int) -> HttpResponse:
    body = pages.error_page(
        settings=deps.settings,
        title="Too many sign-in requests",
        message=f"Too many sign-in requests from your network. Try again in "
        f"{rate_limit.minutes(wait)}.",
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Retry-After": str(wait)}
    return HttpResponse(429, headers, body)


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
