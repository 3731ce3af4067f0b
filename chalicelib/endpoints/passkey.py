"""Signing in with a passkey: alone (the login page: discoverable credentials, autofill or
the button) or as the second step after a password (the second-step page).

The posted response must answer the challenge of this very pending authorization, once
and within its 10 minutes (SECURITY.md item 66), at the issuer's origin and RP ID (item
68), with user verification (item 65), and its counter must move forward (item 67). Then,
as after a password (chalicelib/endpoints/interaction.py): a new session, and on.
"""

from __future__ import annotations

from chalicelib.accounts import devices, mfa, passkeys, sessions
from chalicelib.deps import Deps
from chalicelib.endpoints import interaction as steps
from chalicelib.endpoints import mfa as second_step
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import new_secret
from chalicelib.observability import audit
from chalicelib.stores.models import Client, Factor, Interaction, User

NOT_ACCEPTED = "That passkey was not accepted. Try again, or sign in another way."


def passkey_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = steps.load(deps, request, interaction_id)
    params = steps.form(request, interaction)
    second = bool(interaction.mfa_username)
    try:
        posted = passkeys.read(params.get("credential") or "")
    except passkeys.PasskeyRefused as refused:
        audit.passkey_refused(client.client_id, None, refused.reason)
        return _again(deps, interaction, client, second, "This browser sent no passkey.")
    # Item 66: this pending authorization's current challenge, spent once (a new one takes
    # its place, for another try); one used before, or another sign-in's, is refused.
    fresh = new_secret()
    if not deps.store.interactions.use_challenge(interaction_id, posted.challenge, fresh):
        audit.passkey_refused(client.client_id, None, "challenge unknown, used or expired")
        return _again(deps, interaction, client, second, NOT_ACCEPTED)
    interaction.passkey_challenge = fresh
    found = _credential(deps, interaction, posted)
    if found is None:
        audit.passkey_refused(client.client_id, None, "unknown credential")
        return _again(deps, interaction, client, second, NOT_ACCEPTED)
    user, factor = found
    try:
        used = passkeys.verify_sign_in(deps, posted, factor)
    except passkeys.CounterWentBack as went_back:
        audit.passkey_counter_regressed(client.client_id, user.sub, went_back.reason)
        return _again(deps, interaction, client, second, NOT_ACCEPTED)
    except passkeys.PasskeyRefused as refused:
        audit.passkey_refused(client.client_id, user.sub, refused.reason)
        return _again(deps, interaction, client, second, NOT_ACCEPTED)
    now = deps.clock.now()
    if not deps.store.factors.use_passkey(factor, used.sign_count, used.backed_up, now):
        audit.passkey_refused(client.client_id, user.sub, "counter changed meanwhile")
        return _again(deps, interaction, client, second, NOT_ACCEPTED)
    method = passkeys.method(factor)
    if second:
        amr = mfa.with_factor(interaction.mfa_amr or ["pwd"], method, verified=True)
        audit.mfa_succeeded(client.client_id, user, "passkey")
    else:
        # The device and its PIN or biometric (UV, required): two factors, as RPs that
        # look for "mfa" in amr expect; "user" (RFC 8176: presence) every assertion shows.
        amr = mfa.with_factor([], method, verified=True)
        audit.login_succeeded(client.client_id, user, "passkey")
    old = sessions.current(deps, request)
    session, cookie = sessions.start(deps, user, amr)
    if old is not None:
        deps.store.sessions.delete(old[0])  # no fixation; a step-up replaces the weaker one
    interaction = deps.store.interactions.update(
        interaction.interaction_id, {"sid_hash": session.sid_hash, "mfa_username": ""}
    )
    response = steps.after_login(deps, interaction, session)
    response.cookies.append(cookie)
    response.cookies.append(devices.remember(deps, request, user.username))
    return response


def _credential(
    deps: Deps, interaction: Interaction, posted: passkeys.Posted
) -> tuple[User, Factor] | None:
    """The enabled user and passkey the response names: as a second step, a passkey of the
    user who passed the first; alone, of the user its user handle names."""
    if interaction.mfa_username:
        user = deps.store.users.get(interaction.mfa_username)
    else:
        user = deps.store.users.get_by_sub(posted.user_handle) if posted.user_handle else None
    if user is None or user.disabled:
        return None
    for factor in deps.store.factors.list_for(user.username):
        if factor.kind == passkeys.PASSKEY and factor.credential_id == posted.credential_id:
            return user, factor
    return None


def _again(
    deps: Deps, interaction: Interaction, client: Client, second: bool, error: str
) -> HttpResponse:
    if second:
        user = second_step.pending_user(deps, interaction)
        return second_step.page(deps, interaction, client, user, error=error, status=400)
    page = steps.login_page(deps, interaction, client, error)
    return steps.html(page, interaction, 400, script=True)
