"""Authorization endpoint (RFC 6749 4.1.1, RFC 7636, RFC 9207, OIDC Core 3.1.2).

Checks run in two phases. Until client_id and redirect_uri are proven, every error is an
HTML page and never a redirect (RFC 6749 4.1.2.1, SECURITY.md item 3). After that, errors
go back to the client's registered redirect URI with `state` and `iss`.

A request may instead name a pushed request (RFC 9126, endpoints/par.py) by its request_uri;
a client that must push (per client, per server or FAPI 2.0) is refused a plain request.
"""

from __future__ import annotations

from chalicelib.accounts import consents, mfa, rate_limit, sessions
from chalicelib.deps import Deps
from chalicelib.endpoints import par
from chalicelib.endpoints.authorization_request import (
    MAX_STATE,
    Target,
    code_ttl,
    prove_target,
    validate,
)
from chalicelib.endpoints.authorization_response import error_redirect, issue_code
from chalicelib.errors import (
    ConsentRequired,
    InteractionRequired,
    InvalidRequest,
    LoginRequired,
    OAuthError,
    PageError,
)
from chalicelib.http import cookies, pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import digest, new_id, new_secret
from chalicelib.protocol import acr
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client, Factor, Interaction, Session, User


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    raw = request.query if request.method == "GET" else _form_or_page(request)
    # RFC 9126 4: a request_uri from /par stands for the request it was pushed with.
    pushed = par.take(deps, raw)
    if pushed is not None:
        raw = pushed.params
    params = Params(raw)
    target = prove_target(deps, params)
    states = raw.get("state", [])
    # Echo state only when it is one value of acceptable length: never reflect what was refused.
    state = states[0] if len(states) == 1 and len(states[0]) <= MAX_STATE else None
    try:
        if pushed is not None and pushed.error is not None:
            raise pushed.error
        if pushed is None and par.required(deps, target.client):
            raise InvalidRequest("this client must use pushed authorization requests (PAR)")
        return _authorize(deps, request, params, target)
    except OAuthError as error:
        return error_redirect(deps, target.redirect_uri, error, state)


def _form_or_page(request: HttpRequest) -> dict[str, list[str]]:
    try:
        return request.form()
    except OAuthError as error:
        raise PageError("Invalid request", "This sign-in request is malformed.", 400) from error


def _authorize(deps: Deps, request: HttpRequest, params: Params, target: Target) -> HttpResponse:
    checked = validate(deps, params, target)
    client = target.client
    prompt, max_age = checked.prompt, checked.max_age
    hinted = checked.hinted_sub

    found = sessions.current(deps, request)
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
    step_up, factors = (
        _below(deps, found, client, acr_values)
        if logged_in and found is not None
        else (False, None)
    )
    if step_up and "none" in prompt:
        raise InteractionRequired("a second factor is needed")
    login_hint = checked.login_hint
    if step_up and found is not None and not _listed(deps, found[1], factors):
        # Nothing to step up with: the second step would enrol a first factor, and that needs
        # the password again, or a session cookie alone would let whoever holds it bind their
        # own authenticator to the account (SECURITY.md item 61).
        logged_in = step_up = False
        login_hint = login_hint or found[1].username

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
        scopes=checked.scopes,
        state=checked.state,
        code_challenge=checked.challenge,
        nonce=checked.nonce,
        prompt=sorted(prompt),
        max_age=max_age,
        login_hint=login_hint,
        csrf=csrf,
        browser_hash=digest(browser),
        expires_at=now + deps.settings.interaction_ttl,
        created_at=now,
        sid_hash=found[0].sid_hash if logged_in and found and not step_up else None,
        resources=checked.resources,
        code_ttl=code_ttl(deps, client),
        dpop_jkt=checked.dpop_jkt,
        acr_values=acr_values,
        passkey_challenge=new_secret(),  # 32 random bytes: the passkey forms' challenge
    )
    if step_up and found is not None:
        interaction.mfa_username = found[1].username
        interaction.mfa_amr = list(found[0].amr)
    elif logged_in and found is not None:
        session, user = found
        if "consent" not in prompt and consents.covers(
            deps.store, user.sub, client.client_id, checked.scopes
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


def _listed(deps: Deps, user: User, factors: list[Factor] | None) -> list[Factor]:
    """The user's factors: those `_below` read already, or one Query."""
    return deps.store.factors.list_for(user.username) if factors is None else factors


def _below(
    deps: Deps, found: tuple[Session, User], client: Client, acr_values: list[str]
) -> tuple[bool, list[Factor] | None]:
    """Whether the session proved less than this request needs (SECURITY.md item 61), and
    the user's factors when that needed them (None: not read), so no caller reads them again."""
    session, user = found
    level = mfa.level_of(session.amr)

    def needed_with(has_factor: bool, has_passkey: bool) -> int:
        return mfa.level_needed(
            acr_values=acr_values,
            client_requires=client.require_mfa,
            user_requires=user.mfa_required,
            has_factor=has_factor,
            has_passkey=has_passkey,
        )

    needed = needed_with(False, True)
    if level < needed:
        if needed < mfa.PASSKEY_LEVEL:
            return True, None
        # phr asked: reachable only for a user with a passkey (one Query).
        factors = deps.store.factors.list_for(user.username)
        has_passkey = any(f.kind == "passkey" for f in factors)
        return level < needed_with(bool(factors), has_passkey), factors
    if level >= acr.LEVELS[acr.MFA]:
        return False, None
    # A password-only session of a user who has enrolled a factor since: one Query.
    factors = deps.store.factors.list_for(user.username)
    return bool(factors), factors


def _too_many(deps: Deps, wait: int) -> HttpResponse:
    body = pages.error_page(
        settings=deps.settings,
        title="Too many sign-in requests",
        message=f"Too many sign-in requests from your network. Try again in "
        f"{rate_limit.minutes(wait)}.",
    )
    headers = {"Content-Type": "text/html; charset=utf-8", "Retry-After": str(wait)}
    return HttpResponse(429, headers, body)
