"""The signed-in person's security page (`/account/security`, from the issuer): their
factors, add a passkey, remove a factor, new recovery codes.

It answers only to this browser's session (sessions.current). Each POST carries a CSRF
token derived from the session cookie (no one without the cookie can make it) and answers
with the page (or 303 after a change). A change needs the account's full strength within
RECENT seconds (SECURITY.md item 70): a sign-in that gave the second factor when the user has
one (a password-only session of such a user, or its cookie alone, must not remove or add a
factor), or a confirmation on this page: the password, and a code of a factor (TOTP or
recovery) when the user has one; a user with no factor confirms with the password (item 72),
and that confirmation ends when the first factor is added. Removing a factor ends the
user's other sessions and revokes the user's grants (their refresh tokens). Every change,
and every refused one, is an audit record (`account.*`).
"""

from __future__ import annotations

from chalicelib.accounts import devices, mfa, passkeys, rate_limit, sessions, totp
from chalicelib.accounts.passwords import verify_password
from chalicelib.deps import Deps
from chalicelib.endpoints import mfa as second_step
from chalicelib.errors import OAuthError, PageError
from chalicelib.http import cookies, headers, passkey_pages
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import digest, new_id, same
from chalicelib.observability import audit
from chalicelib.observability.audit import FAILURE
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Factor, Session, User

PATH = "/account/security"
RECENT = 600  # seconds
NAMES = {"passkey": "Passkey", "totp": "Authenticator app"}
EVENTS = {
    "passkey": "factor_added",
    "totp": "factor_added",
    "totp-confirm": "factor_added",
    "remove": "factor_removed",
    "recovery": "recovery_renewed",
}


def _signed_in(deps: Deps, request: HttpRequest) -> tuple[Session, User, str]:
    found = sessions.current(deps, request)
    sid = request.cookies.get(cookies.name(deps.settings, cookies.SESSION), "")
    if found is None:
        raise PageError(
            "You are not signed in",
            "Sign in to an application that uses Tollgate, then open this page again.",
            401,
            detail="security page without a session",
        )
    return found[0], found[1], digest(f"account-csrf:{sid}")


def _recent(deps: Deps, session: Session, factors: list[Factor]) -> bool:
    now = deps.clock.now()
    # NIST SP 800-63B 6.1.2.1: binding or removing a factor needs the account's strongest.
    # A user with no factor types the password on this page (item 72): a session cookie
    # alone, stolen minutes after a password sign-in, never binds the thief's authenticator.
    signed_in = bool(factors) and mfa.gave_second_factor(session.amr)
    # A confirmation has the strength the account had when it was made: one with the password
    # alone is void once the user has a factor, in every session, however the factor came
    # (this page, the sign-in's enrolment, the CLI).
    strong = session.confirmed_with_factor or not factors
    confirmed = strong and now - session.confirmed_at <= RECENT
    return confirmed or (signed_in and now - session.auth_time <= RECENT)


def _rows(factors: list[Factor]) -> list[passkey_pages.FactorRow]:
    from datetime import UTC, datetime

    def day(at: int) -> str:
        return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M UTC")

    rows = []
    for f in factors:
        used = f", last used {day(f.last_used_at)}" if f.last_used_at else ""
        rows.append(
            passkey_pages.FactorRow(
                f.factor_id, NAMES.get(f.kind, f.kind), f"added {day(f.created_at)}{used}"
            )
        )
    return rows


def _page(
    deps: Deps,
    request: HttpRequest,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
    codes: list[str] | None = None,
    app: str | None = None,
    factors: list[Factor] | None = None,
) -> HttpResponse:
    """The page; `app`: the secret of an authenticator app being set up (QR code and key);
    `factors`: the user's, as this request read (and changed) them: read once per request."""
    session, user, csrf = _signed_in(deps, request)
    if factors is None:
        factors = deps.store.factors.list_for(user.username)
    body = passkey_pages.security_page(
        settings=deps.settings,
        username=user.username,
        action=deps.settings.endpoint(PATH),
        csrf=csrf,
        factors=_rows(factors),
        register_options=passkeys.registration_options(
            deps, username=user.username, sub=user.sub, existing=factors, bound_to=session.sid_hash
        ),
        recovery_left=deps.store.factors.recovery_left(user.username) if factors else 0,
        notice=notice,
        error=error,
        codes=codes,
        confirm=not _recent(deps, session, factors),
        app=_app_setup(app, user.username),
        has_app=any(f.kind == "totp" for f in factors),
        confirm_code=bool(factors),
    )
    response = HttpResponse(status, {"Content-Type": "text/html; charset=utf-8"}, body)
    return headers.secure(response, [], script=True)


def security_get(deps: Deps, request: HttpRequest) -> HttpResponse:
    return _page(deps, request)


def security_post(deps: Deps, request: HttpRequest) -> HttpResponse:
    session, user, csrf = _signed_in(deps, request)
    try:
        params = Params(request.form())
        params.reject_duplicates()
    except OAuthError as error:
        audit.account_change(user.sub, "change", FAILURE, "form unreadable")
        raise PageError("Invalid request", "The form could not be read.", 400) from error
    action = params.get("action")
    event = "confirmed" if action == "confirm" else EVENTS.get(action or "", "change")
    if not same(params.get("csrf") or "", csrf):
        # A forged cross-site POST against the person's factors: the refusal worth seeing.
        audit.account_change(user.sub, event, FAILURE, "CSRF token missing or wrong")
        raise PageError("This form has expired", "Reload the page and try again.", 403)
    factors = deps.store.factors.list_for(user.username)  # the one read of this request
    if action == "confirm":
        code = (params.get("code") or "")[:64]
        given = (params.get("password") or "", code)
        return _confirm(deps, request, (session, user, factors), given)
    if action not in EVENTS:
        audit.account_change(user.sub, event, FAILURE, "unknown action")
        raise PageError("Invalid request", "Choose what to change.", 400)
    if not _recent(deps, session, factors):
        audit.account_change(user.sub, EVENTS[action], FAILURE, "sign-in not recent")
        return _page(deps, request, status=403, error="Confirm it is you first.", factors=factors)
    if action == "passkey":
        raw = params.get("credential") or ""
        return _add_passkey(deps, request, (session, user, factors), raw)
    if action == "totp":
        return _start_app(deps, request, session, user, factors)
    if action == "totp-confirm":
        code = (params.get("code") or "")[:64]
        return _confirm_app(deps, request, (session, user, factors), code)
    if action == "remove":
        factor_id = params.get("factor") or ""
        # Sessions and grants end first (end_for_factor): a store failure between the steps
        # leaves the factor in place, so the person can simply retry.
        mine = any(f.factor_id == factor_id for f in factors)
        ended = _sign_out_elsewhere(deps, session) if mine else 0
        if not mine or not deps.store.factors.remove(user.username, factor_id):
            message = "That is not one of your factors."
            return _page(deps, request, status=400, error=message, factors=factors)
        audit.account_change(user.sub, "factor_removed", reason=factor_id)
        notice = f"Removed. Signed out elsewhere: {ended}." if ended else "Removed."
        left = [f for f in factors if f.factor_id != factor_id]
        return _page(deps, request, notice=notice, factors=left)
    if not factors:
        message = "Recovery codes need a passkey or app."
        return _page(deps, request, status=400, error=message, factors=factors)
    codes = totp.new_recovery_codes()
    deps.store.factors.replace_recovery(
        user.username, [totp.recovery_hash(user.username, c) for c in codes]
    )
    audit.account_change(user.sub, "recovery_renewed")
    return _page(deps, request, notice="New recovery codes made.", codes=codes, factors=factors)


def _sign_out_elsewhere(deps: Deps, session: Session) -> int:
    """The user's other sessions end and its grants are revoked (item 70: the removed factor
    may have been an intruder's); each is audited. How many sessions ended."""
    ended = deps.store.accounts.end_for_factor(session.sub, deps.clock.now(), session.sid_hash)
    if ended.sessions:
        audit.account_change(session.sub, "sessions_ended", reason=str(ended.sessions))
    if ended.revoked_grants:
        reason = str(len(ended.revoked_grants))
        audit.account_change(session.sub, "grants_revoked", reason=reason)
    return ended.sessions


# The signed-in session, its user and their factors as this request read them.
Seen = tuple[Session, User, list[Factor]]


def _confirm(deps: Deps, request: HttpRequest, seen: Seen, given: tuple[str, str]) -> HttpResponse:
    """`given`: the password and, for a user with a factor, a code of one."""
    session, user, factors = seen
    password, code = given
    known = devices.knows(deps, request, user.username)
    limiter = rate_limit.for_login(deps, user.username, request.source_ip, known_browser=known)
    wait = limiter.attempt()  # counted before the password is checked (item 30)
    if wait is not None:
        audit.account_change(user.sub, "confirmed", FAILURE, "too many failed attempts")
        message = f"Too many attempts. Try again in {rate_limit.minutes(wait)}."
        return _page(deps, request, status=429, error=message, factors=factors)
    if not verify_password(user.password_hash, password):
        audit.account_change(user.sub, "confirmed", FAILURE, "wrong password")
        message = "That password is not right."
        return _page(deps, request, status=400, error=message, factors=factors)
    if factors and second_step.verify_code(deps, user, factors, code.strip()) is None:
        audit.account_change(user.sub, "confirmed", FAILURE, "wrong code")
        unavailable = second_step.apps_unavailable(deps, factors)
        message = second_step.APPS_UNAVAILABLE if unavailable else "That code is not right."
        return _page(deps, request, status=400, error=message, factors=factors)
    limiter.succeeded()
    changes = {"confirmed_at": deps.clock.now(), "confirmed_with_factor": bool(factors)}
    deps.store.sessions.update(session.sid_hash, changes)
    audit.account_change(user.sub, "confirmed")
    notice = "Confirmed. You can change your settings now."
    return _page(deps, request, notice=notice, factors=factors)


def _add_passkey(deps: Deps, request: HttpRequest, seen: Seen, raw: str) -> HttpResponse:
    session, user, factors = seen
    refused = "That passkey could not be added. Try again."
    try:
        posted = passkeys.read(raw)
    except passkeys.PasskeyRefused as error:
        audit.account_change(user.sub, "factor_added", FAILURE, error.reason)
        message = "This browser sent no passkey."
        return _page(deps, request, status=400, error=message, factors=factors)
    bound = deps.store.challenges.consume(posted.challenge, new_id())
    if bound is None or (bound.purpose, bound.bound_to) != ("register", session.sid_hash):
        audit.account_change(
            user.sub, "factor_added", FAILURE, "challenge unknown, used or expired"
        )
        return _page(deps, request, status=400, error=refused, factors=factors)
    try:
        factor = passkeys.verify_registration(deps, posted, user.username, new_id())
    except passkeys.PasskeyRefused as error:
        audit.account_change(user.sub, "factor_added", FAILURE, error.reason)
        return _page(deps, request, status=400, error=refused, factors=factors)
    # WebAuthn L3 7.1 step 27: excludeCredentials is only a hint to the browser; a second
    # row with the same id would make sign-in pick one of the two at random.
    if any(f.credential_id == factor.credential_id for f in factors):
        audit.account_change(user.sub, "factor_added", FAILURE, "credential already registered")
        message = "That passkey is already registered."
        return _page(deps, request, status=400, error=message, factors=factors)
    first = not factors
    codes = totp.new_recovery_codes() if first else []
    hashes = [totp.recovery_hash(user.username, c) for c in codes] if first else None
    deps.store.factors.add(factor, hashes)
    audit.account_change(user.sub, "factor_added", reason="passkey")
    audit.mfa_enrolled(user, "passkey")
    added = [*factors, factor]
    return _page(deps, request, notice="Passkey added.", codes=codes or None, factors=added)


# -- an authenticator app (TOTP), as at sign-in (chalicelib/endpoints/mfa.py) -----------------


def _app_setup(secret: str | None, username: str) -> tuple[str, str] | None:
    if secret is None:
        return None
    uri = totp.provisioning_uri(secret, username, second_step.ISSUER_NAME)
    return totp.qr_svg(uri), totp.grouped(secret)


def _start_app(
    deps: Deps, request: HttpRequest, session: Session, user: User, factors: list[Factor]
) -> HttpResponse:
    key = second_step.seal_key(deps)  # a 503 page when the key was deleted (item 69)
    secret = totp.new_secret()
    sealed = totp.seal(key, user.username, f"pending:{session.sid_hash}", secret)
    deps.store.sessions.update(session.sid_hash, {"pending_totp": sealed})
    return _page(deps, request, app=secret, factors=factors)


def _confirm_app(deps: Deps, request: HttpRequest, seen: Seen, code: str) -> HttpResponse:
    session, user, factors = seen
    if not session.pending_totp:
        message = "Start setting up the app again."
        return _page(deps, request, status=400, error=message, factors=factors)
    key = second_step.seal_key(deps)
    secret = totp.unseal(key, user.username, f"pending:{session.sid_hash}", session.pending_totp)
    now = deps.clock.now()
    step = totp.matching_step(secret, code, now)
    if step is None:
        audit.account_change(user.sub, "factor_added", FAILURE, "wrong code")
        message = "That code is not right."
        return _page(deps, request, status=400, error=message, app=secret, factors=factors)
    first = not factors
    factor, codes = second_step.save_totp(deps, user, secret, step, recovery_codes=first)
    deps.store.sessions.update(session.sid_hash, {"pending_totp": ""})
    audit.account_change(user.sub, "factor_added", reason="totp")
    audit.mfa_enrolled(user, "totp")
    notice = "Authenticator app added."
    return _page(deps, request, notice=notice, codes=codes or None, factors=[*factors, factor])
