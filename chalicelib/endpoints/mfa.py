"""The second step of a sign-in: a TOTP code (or a recovery code), or enrolling TOTP where a
second factor is needed and the user has none (accounts/mfa.py says when).

The pending authorization names the user who passed the first step (`mfa_username`, set by
the password step or by /authorize for a step-up) and what that proved (`mfa_amr`). No
session exists for the sign-in until the second step succeeds (SECURITY.md item 61): a
right password alone gives nothing that single sign-on could reuse.

Wrong codes count on the password's own limits, before the code is checked (SECURITY.md
item 60). A TOTP code is spent by a conditional write of its time step (item 44); a
recovery code by a conditional write of its record (item 45).
"""

from __future__ import annotations

from chalicelib.accounts import devices, mfa, passkeys, rate_limit, sessions, totp
from chalicelib.deps import Deps
from chalicelib.endpoints import interaction as steps
from chalicelib.errors import PageError
from chalicelib.http import mfa_pages, passkey_pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import new_id
from chalicelib.observability import audit
from chalicelib.stores.factors import FactorKeyMissing
from chalicelib.stores.models import Client, Factor, Interaction, User

MAX_CODE = 64
ISSUER_NAME = "Tollgate"


def pending_user(deps: Deps, interaction: Interaction) -> User:
    user = deps.store.users.get(interaction.mfa_username or "")
    if user is None or user.disabled:
        raise PageError(
            "Please sign in again",
            "Go back to the application and start again.",
            403,
            detail="second step without a first",
        )
    return user


def seal_key(deps: Deps) -> bytes:
    """The key of TOTP secrets; a clear 503 page (and an audit record) when it was deleted
    while sealed secrets may remain (SECURITY.md item 69), never a new key over them."""
    try:
        return deps.store.factors.seal_key()
    except FactorKeyMissing:
        audit.factor_key_missing()
        raise PageError(
            "Authenticator apps are unavailable",
            "Codes from authenticator apps cannot be checked right now. Use a passkey or a "
            "recovery code, or ask your administrator.",
            503,
            detail="FACTORKEY missing",
        ) from None


def _pending_secret(deps: Deps, interaction: Interaction, user: User) -> str:
    """The secret being enrolled in this pending authorization, made on first view."""
    key = seal_key(deps)
    label = f"pending:{interaction.interaction_id}"
    if interaction.pending_totp:
        return totp.unseal(key, user.username, label, interaction.pending_totp)
    secret = totp.new_secret()
    sealed = totp.seal(key, user.username, label, secret)
    deps.store.interactions.update(interaction.interaction_id, {"pending_totp": sealed})
    interaction.pending_totp = sealed
    return secret


def page(
    deps: Deps,
    interaction: Interaction,
    client: Client,
    user: User,
    *,
    error: str | None = None,
    status: int = 200,
) -> HttpResponse:
    action = steps.action(deps, interaction, "mfa")
    cancel = steps.action(deps, interaction, "cancel")
    factors = deps.store.factors.list_for(user.username)
    keys = [f for f in factors if f.kind == passkeys.PASSKEY]
    if factors:
        passkey = ""
        if keys and interaction.passkey_challenge:
            passkey = passkey_pages.passkey_form(
                action=steps.action(deps, interaction, "passkey"),
                csrf=interaction.csrf,
                options=passkeys.authentication_options(
                    deps, challenge=interaction.passkey_challenge, allow=keys
                ),
                kind="get",
                label="Use your passkey",
                primary=True,
            )
        body = mfa_pages.code_page(
            settings=deps.settings,
            client_name=client.name,
            action=action,
            csrf=interaction.csrf,
            username=user.username,
            error=error,
            cancel_action=cancel,
            passkey=passkey,
            codes=not passkey_only(interaction, factors),
        )
        return steps.html(body, interaction, status, script=bool(passkey))
    else:
        secret = _pending_secret(deps, interaction, user)
        uri = totp.provisioning_uri(secret, user.username, ISSUER_NAME)
        body = mfa_pages.enrol_page(
            settings=deps.settings,
            client_name=client.name,
            action=action,
            csrf=interaction.csrf,
            username=user.username,
            qr_svg=totp.qr_svg(uri),
            manual_key=totp.grouped(secret),
            error=error,
            cancel_action=cancel,
        )
    return steps.html(body, interaction, status)


def passkey_only(interaction: Interaction, factors: list[Factor]) -> bool:
    """Whether only a passkey will do: the request asks for `phr` and the user has one
    (item 2 of issue 15: phr forces a passkey even inside a password or TOTP session)."""
    return mfa.level_asked(interaction.acr_values) >= mfa.PASSKEY_LEVEL and any(
        f.kind == passkeys.PASSKEY for f in factors
    )


def mfa_get(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = steps.load(deps, request, interaction_id)
    user = pending_user(deps, interaction)
    return page(deps, interaction, client, user)


def mfa_post(deps: Deps, request: HttpRequest, interaction_id: str) -> HttpResponse:
    interaction, client = steps.load(deps, request, interaction_id)
    params = steps.form(request, interaction)
    if params.get("step") == "continue":
        # After the recovery codes were shown: the session exists, go on as after a sign-in.
        return steps.after_login(deps, interaction, steps.signed_in(deps, request, interaction))
    user = pending_user(deps, interaction)
    code = (params.get("code") or "")[:MAX_CODE]
    factors = deps.store.factors.list_for(user.username)
    if passkey_only(interaction, factors):
        # No code is checked (nor counted): this request needs the passkey.
        return page(deps, interaction, client, user, error="Use your passkey.", status=400)
    known = devices.knows(deps, request, user.username)
    limiter = rate_limit.for_login(deps, user.username, request.source_ip, known_browser=known)
    # SECURITY.md item 60: counted before the code is checked, on the password's limits.
    wait = limiter.attempt()
    if wait is not None:
        message = f"Too many attempts. Try again in {rate_limit.minutes(wait)}."
        response = page(deps, interaction, client, user, error=message, status=429)
        response.headers["Retry-After"] = str(wait)
        audit.mfa_blocked(client.client_id, user, wait)
        return response
    if factors:
        method = verify_code(deps, user, factors, code)
        codes: list[str] = []
    else:
        method, codes = _enrol(deps, interaction, user, code)
    if method is None:
        audit.mfa_failed(client.client_id, user)
        error = APPS_UNAVAILABLE if apps_unavailable(deps, factors) else "That code is not right."
        return page(deps, interaction, client, user, error=error, status=400)
    limiter.succeeded()
    amr = mfa.with_factor(interaction.mfa_amr or ["pwd"], "otp")
    old = sessions.current(deps, request)
    session, cookie = sessions.start(deps, user, amr)
    audit.mfa_succeeded(client.client_id, user, method)
    if old is not None:
        deps.store.sessions.delete(old[0])  # a step-up replaces the weaker session
    interaction = deps.store.interactions.update(
        interaction.interaction_id, {"sid_hash": session.sid_hash, "mfa_username": ""}
    )
    if codes:
        body = mfa_pages.recovery_codes_page(
            settings=deps.settings,
            client_name=client.name,
            action=steps.action(deps, interaction, "mfa"),
            csrf=interaction.csrf,
            codes=codes,
        )
        response = steps.html(body, interaction)
    else:
        response = steps.after_login(deps, interaction, session)
    response.cookies.append(cookie)
    response.cookies.append(devices.remember(deps, request, user.username))
    return response


APPS_UNAVAILABLE = (
    "Codes from authenticator apps cannot be checked right now. "
    "Use a recovery code or a passkey, or try again later."
)


def apps_unavailable(deps: Deps, factors: list[Factor]) -> bool:
    """The user has an app whose codes cannot be checked: the sealing key is gone (item 69),
    so a right code must not be answered as a wrong one."""
    if not any(f.kind == "totp" for f in factors):
        return False
    try:
        deps.store.factors.seal_key()
    except FactorKeyMissing:
        return True
    return False


def verify_code(deps: Deps, user: User, factors: list[Factor], code: str) -> str | None:
    """'totp' or 'recovery' when the code is right and unspent (then spent); else None."""
    now = deps.clock.now()
    apps = [f for f in factors if f.kind == "totp" and f.secret]
    try:
        key = deps.store.factors.seal_key() if apps else b""
    except FactorKeyMissing:
        audit.factor_key_missing()
        apps = []  # a recovery code still works (item 69)
    for factor in apps:
        secret = totp.unseal(key, user.username, factor.factor_id, factor.secret or "")
        step = totp.matching_step(secret, code, now)
        # SECURITY.md item 57: a step at or before the last one accepted is a replay.
        if step is not None and deps.store.factors.use_step(factor, step, now):
            return "totp"
    recovery = totp.normal_recovery(code)
    if recovery is not None:
        spent = totp.recovery_hash(user.username, recovery)
        if deps.store.factors.use_recovery(user.username, spent, now, new_id()):
            return "recovery"
    return None


def _enrol(
    deps: Deps, interaction: Interaction, user: User, code: str
) -> tuple[str | None, list[str]]:
    """A code from the secret being enrolled makes it the user's factor, with a new set of
    recovery codes (returned, to be shown once)."""
    if not interaction.pending_totp:
        return None, []
    now = deps.clock.now()
    secret = _pending_secret(deps, interaction, user)
    step = totp.matching_step(secret, code, now)
    if step is None:
        return None, []
    _factor, codes = save_totp(deps, user, secret, step, recovery_codes=True)
    deps.store.interactions.update(interaction.interaction_id, {"pending_totp": ""})
    audit.mfa_enrolled(user, "totp")
    return "totp-enrolled", codes


def save_totp(
    deps: Deps, user: User, secret: str, step: int, *, recovery_codes: bool
) -> tuple[Factor, list[str]]:
    """The confirmed secret made the user's TOTP factor (its step spent, SECURITY.md item 57),
    with a new set of recovery codes when asked; returns the factor and the codes (to be shown
    once)."""
    now = deps.clock.now()
    factor_id = new_id()
    factor = Factor(
        factor_id=factor_id,
        username=user.username,
        kind="totp",
        created_at=now,
        label="Authenticator app",
        last_used_at=now,
        secret=totp.seal(seal_key(deps), user.username, factor_id, secret),
        last_step=step,
    )
    codes = totp.new_recovery_codes() if recovery_codes else []
    deps.store.factors.add(factor, [totp.recovery_hash(user.username, c) for c in codes] or None)
    return factor, codes
