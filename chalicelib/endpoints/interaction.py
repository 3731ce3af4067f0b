"""Login and consent pages: the person's part of the authorization code flow.

Each POST carries a CSRF token bound to the pending authorization, and the pending
authorization is bound to this browser by a cookie; consent is also bound to the session
that signed in for it (SECURITY.md item 6). A POST answers 303 (item 8); a GET never grants.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from chalicelib.accounts import consents, devices, mfa, passkeys, rate_limit, sessions, usernames
from chalicelib.accounts.passwords import dummy_hash, verify_password
from chalicelib.deps import Deps
from chalicelib.endpoints import restart
from chalicelib.endpoints.authorization_response import error_redirect, issue_code
from chalicelib.errors import AccessDenied, OAuthError, PageError
from chalicelib.http import cookies, headers, pages, passkey_pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import digest, new_id, same
from chalicelib.observability import audit
from chalicelib.protocol.params import Params
from chalicelib.stores.models import METADATA_DOCUMENT, Client, Consent, Interaction, Session, User

MAX_USERNAME = 128


def _expired_page(detail: str, again: str | None = None) -> PageError:
    if again is not None:
        return PageError(
            "This sign-in has expired",
            "It was open too long. Start again where you left off.",
            400,
            detail=detail,
            link=("Start again", again),
        )
    return PageError(
        "This sign-in has expired",
        "Go back to the application and start signing in again.",
        400,
        detail=detail,
    )


def _posted(request: HttpRequest) -> dict[str, list[str]]:
    """The form of a POST, or nothing (a GET, or a body that cannot be read)."""
    if request.method != "POST":
        return {}
    try:
        return request.form()
    except OAuthError:
        return {}


def load(deps: Deps, request: HttpRequest, interaction_id: str) -> tuple[Interaction, Client]:
    if not interaction_id or len(interaction_id) > 64:
        raise _expired_page("malformed interaction id")
    interaction = deps.store.interactions.get(interaction_id)
    if interaction is None:
        # Expired (or never was): a form that carried the request can start it again.
        again = restart.link(deps, _posted(request))
        raise _expired_page("unknown or expired interaction", again)
    if interaction.completed_by is not None:
        raise _expired_page("finished interaction")
    browser = request.cookies.get(cookies.name(deps.settings, cookies.BROWSER), "")
    if not browser or not same(digest(browser), interaction.browser_hash):
        raise PageError(
            "This sign-in belongs to another browser",
            "Start signing in again from the application in this browser.",
            403,
            detail="browser binding mismatch",
        )
    client = deps.clients.get(interaction.client_id)
    if client is None:
        raise _expired_page("client deleted during interaction")
    return interaction, client


def form(request: HttpRequest, interaction: Interaction) -> Params:
    try:
        params = Params(request.form())
        params.reject_duplicates()
        csrf = params.get("csrf")
    except OAuthError as error:
        raise PageError("Invalid request", "The form could not be read.", 400) from error
    if csrf is None or not same(csrf, interaction.csrf):
        raise PageError(
            "This form has expired",
            "Reload the page and try again.",
            403,
            detail="CSRF token missing or wrong",
        )
    return params


def html(
    body: str, interaction: Interaction, status: int = 200, *, script: bool = False
) -> HttpResponse:
    response = HttpResponse(status, {"Content-Type": "text/html; charset=utf-8"}, body)
    # The form's answer may redirect to the client: CSP form-action must allow its origin.
    return headers.secure(response, [interaction.redirect_uri], script)


def action(deps: Deps, interaction: Interaction, step: str) -> str:
    # From the issuer, never root-relative: under a stage path (`/dev`) that would leave it.
    return deps.settings.endpoint(f"/interaction/{interaction.interaction_id}/{step}")


# -- login ------------------------------------------------------------------------------------


def login_get(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = load(deps, request, interaction_id)
    return html(login_page(deps, interaction, client), interaction, script=True)


def login_page(
    deps: Deps,
    interaction: Interaction,
    client: Client,
    error: str | None = None,
    username: str | None = None,
) -> str:
    """The login page, with a passkey form (its challenge is the interaction's: no write)."""
    return pages.login_page(
        settings=deps.settings,
        client_name=client.name,
        action=action(deps, interaction, "login"),
        csrf=interaction.csrf,
        scopes=interaction.scopes,
        login_hint=interaction.login_hint,
        error=error,
        username=username,
        cancel_action=action(deps, interaction, "cancel"),
        restart=restart.essentials(interaction),
        passkey=passkey_pages.passkey_form(
            action=action(deps, interaction, "passkey"),
            csrf=interaction.csrf,
            # Any of this site's passkeys: the one chosen names its user (discoverable).
            options=passkeys.authentication_options(deps, challenge=interaction.passkey_challenge),
            kind="conditional",
            label="Continue with a passkey",
        )
        if interaction.passkey_challenge
        else "",
    )


def login_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = load(deps, request, interaction_id)
    params = form(request, interaction)
    typed = (params.get("username") or "").strip()[:MAX_USERNAME]
    password = params.get("password") or ""
    # SECURITY.md item 38: `Alice` and a full-width `alice` are alice; a name that fits no account
    # is still counted, under what was typed.
    username = usernames.canonical_or_none(typed)
    known = username is not None and devices.knows(deps, request, username)
    limiter = rate_limit.for_login(deps, username or typed, request.source_ip, known_browser=known)
    # SECURITY.md items 18 and 30: counted before the user is read or any password hashed.
    wait = limiter.attempt()
    if wait is not None:
        message = f"Too many attempts. Try again in {rate_limit.minutes(wait)}."
        page = login_page(deps, interaction, client, message, typed)
        response = html(page, interaction, 429, script=True)
        response.headers["Retry-After"] = str(wait)
        audit.login_blocked(client.client_id, wait)
        return response
    user = deps.store.users.get(username) if username else None
    # Verify against a dummy hash for unknown users so timing does not reveal who exists.
    valid = verify_password(user.password_hash if user else dummy_hash(), password)
    if user is None or user.disabled or not valid:
        # The attempt stays counted: it was a failure.
        audit.login_failed(client.client_id, user, valid)
        page = login_page(deps, interaction, client, "Wrong username or password.", typed)
        return html(page, interaction, 400, script=True)
    limiter.succeeded()
    if _needs_second_step(deps, interaction, client, user):
        # No session yet (SECURITY.md item 61): the second step starts it.
        audit.password_accepted(client.client_id, user)
        deps.store.interactions.update(
            interaction.interaction_id, {"mfa_username": user.username, "mfa_amr": ["pwd"]}
        )
        return HttpResponse.redirect(action(deps, interaction, "mfa"))
    old = sessions.current(deps, request)
    session, cookie = sessions.start(deps, user, ["pwd"])
    audit.login_succeeded(client.client_id, user)
    if old is not None:
        # A fresh sign-in replaces the old session: no fixation, no stale auth_time.
        deps.store.sessions.delete(old[0])
    interaction = deps.store.interactions.update(
        interaction.interaction_id, {"sid_hash": session.sid_hash}
    )
    response = after_login(deps, interaction, session)
    response.cookies.append(cookie)
    # This browser now knows the account: the account-wide limit no longer holds it (item 32).
    response.cookies.append(devices.remember(deps, request, user.username))
    return response


def _needs_second_step(deps: Deps, interaction: Interaction, client: Client, user: User) -> bool:
    factors = deps.store.factors.list_for(user.username)
    needed = mfa.level_needed(
        acr_values=interaction.acr_values,
        client_requires=client.require_mfa,
        user_requires=user.mfa_required,
        has_factor=bool(factors),
        has_passkey=any(f.kind == passkeys.PASSKEY for f in factors),
    )
    return needed > mfa.level_of(["pwd"])


def after_login(deps: Deps, interaction: Interaction, session: Session) -> HttpResponse:
    if "consent" in interaction.prompt or not consents.covers(
        deps.store, session.sub, interaction.client_id, interaction.scopes
    ):
        return HttpResponse.redirect(action(deps, interaction, "consent"))
    return _complete(deps, interaction, session)


def _complete(deps: Deps, interaction: Interaction, session: Session) -> HttpResponse:
    if deps.store.interactions.complete(interaction.interaction_id, new_id()) is None:
        raise _expired_page("interaction completed concurrently")
    return issue_code(deps, interaction, session)


# -- consent ----------------------------------------------------------------------------------


def signed_in(deps: Deps, request: HttpRequest, interaction: Interaction) -> Session:
    found = sessions.current(deps, request)
    if (
        found is None
        or not interaction.sid_hash
        or not same(found[0].sid_hash, interaction.sid_hash)
    ):
        raise PageError(
            "Please sign in again",
            "Your session ended or changed. Go back to the application and start again.",
            403,
            detail="consent without the session that signed in",
        )
    return found[0]


def consent_get(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = load(deps, request, interaction_id)
    if not interaction.sid_hash:
        return HttpResponse.redirect(action(deps, interaction, "login"))
    session = signed_in(deps, request, interaction)
    page = pages.consent_page(
        settings=deps.settings,
        client_name=client.name,
        action=action(deps, interaction, "consent"),
        csrf=interaction.csrf,
        username=session.username,
        scopes=interaction.scopes,
        return_host=_host(interaction.redirect_uri),
        signout_action=action(deps, interaction, "signout"),
        restart=restart.essentials(interaction),
        unverified=_unverified(client),
    )
    return html(page, interaction)


def _unverified(client: Client) -> tuple[str | None] | None:
    """For a client the operator did not register (SECURITY.md 54): the host its metadata
    document came from (None for a dynamic client); None for the operator's own."""
    if client.verified:
        return None
    if client.origin == METADATA_DOCUMENT:
        return (urlsplit(client.client_id).hostname,)
    return (None,)


def consent_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, _client = load(deps, request, interaction_id)
    params = form(request, interaction)
    session = signed_in(deps, request, interaction)
    decision = params.get("decision")
    if decision == "deny":
        if deps.store.interactions.complete(interaction.interaction_id, new_id()) is None:
            raise _expired_page("interaction completed concurrently")
        denied = AccessDenied("the user denied the request")
        audit.consent_denied(interaction.client_id, session.sub)
        return error_redirect(deps, interaction.redirect_uri, denied, interaction.state)
    if decision != "allow":
        raise PageError("Invalid request", "Choose Allow or Deny.", 400)
    previous = deps.store.consents.get(session.sub, interaction.client_id)
    granted = sorted(set(interaction.scopes) | set(previous.scopes if previous else []))
    deps.store.consents.put(Consent(session.sub, interaction.client_id, granted, deps.clock.now()))
    audit.consent_granted(interaction.client_id, session.sub, granted)
    return _complete(deps, interaction, session)


def _host(redirect_uri: str) -> str:
    """Where the answer goes, as a person reads it: the host (and port), or the app's scheme."""
    parts = urlsplit(redirect_uri)
    return parts.netloc or f"{parts.scheme}:"


# -- leaving: cancel (login page), "not you? sign out" (consent page) ------------------------


def cancel_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    """Back to the app without signing in: access_denied with state and iss (RFC 6749
    4.1.2.1, RFC 9207), as a Deny on the consent page."""
    interaction, _client = load(deps, request, interaction_id)
    form(request, interaction)
    if deps.store.interactions.complete(interaction.interaction_id, new_id()) is None:
        raise _expired_page("interaction completed concurrently")
    cancelled = AccessDenied("the user cancelled the sign-in")
    return error_redirect(deps, interaction.redirect_uri, cancelled, interaction.state)


def signout_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    """End this browser's session and go back to the sign-in step of the same pending
    authorization, which no longer belongs to any session."""
    interaction, _client = load(deps, request, interaction_id)
    form(request, interaction)
    found = sessions.current(deps, request)
    if found is not None:
        deps.store.sessions.delete(found[0])
        audit.session_ended(found[0].sub, "not you? signed out at consent")
    # "" and not absent: an update only sets attributes; consent needs a session again.
    deps.store.interactions.update(interaction.interaction_id, {"sid_hash": ""})
    response = HttpResponse.redirect(action(deps, interaction, "login"))
    response.cookies.append(cookies.clear_cookie(deps.settings, cookies.SESSION))
    return response
