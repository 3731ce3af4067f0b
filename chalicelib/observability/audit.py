"""Audit events: one log record per security event, on the logger `tollgate.audit`.

Every record has the same members, null when unknown (README "Audit events"):

    event      what happened, e.g. "login.failed", "refresh.reuse_detected", "admin.user.disabled"
    outcome    "success" or "failure"
    client_id  the client concerned (for client_auth.failed: the client_id presented)
    sub        the user's subject (a machine client's own client_id for client_credentials)
    grant_id   the grant concerned
    source_ip  API Gateway's source address of the request (null on the command line)
    reason     why it failed, or why it was done, in words

and some events one or two more (username, grant_type, scope, token_type, active, auth_method,
actor, kid). Records never hold a secret, token, code, password or any hash of one: each
function below takes only identifiers, and tests/functional/test_audit.py scans every record
of full flows for the secret values those flows used. A call site is one line.

The record is also the request's: its later log lines carry the client and subject.
"""

from __future__ import annotations

import getpass
import logging
from typing import Any, Protocol

from chalicelib.observability import logs, metrics

log = logging.getLogger("tollgate.audit")
SCHEMA = ("event", "outcome", "client_id", "sub", "grant_id", "source_ip", "reason")
SUCCESS = "success"
FAILURE = "failure"


class _Granted(Protocol):
    """A code or refresh token record: only its identifiers are read."""

    client_id: str
    sub: str
    grant_id: str


class _Person(Protocol):
    username: str
    sub: str


def emit(
    event: str,
    outcome: str,
    *,
    client_id: str | None = None,
    sub: str | None = None,
    grant_id: str | None = None,
    reason: str | None = None,
    **more: Any,
) -> None:
    context = logs.current()
    record: dict[str, Any] = {
        "event": event,
        "outcome": outcome,
        "client_id": client_id,
        "sub": sub,
        "grant_id": grant_id,
        "source_ip": context.source_ip if context else None,
        "reason": reason,
        **more,
    }
    logs.note(client_id=client_id, sub=sub, grant_id=grant_id)
    log.info("audit %s %s", event, outcome, extra={"fields": record})


# -- signing in --------------------------------------------------------------------------


def login_succeeded(client_id: str, user: _Person, how: str | None = None) -> None:
    """`how`: None for a password, "passkey" for a passkey alone."""
    emit(
        "login.succeeded",
        SUCCESS,
        client_id=client_id,
        sub=user.sub,
        username=user.username,
        reason=how,
    )


def login_failed(client_id: str, user: Any, password_ok: bool) -> None:
    """`user` is the account the username named (None: no such user). The username is
    recorded only when it names an account: people type passwords into the wrong field."""
    if user is None:
        reason = "unknown user"
    elif getattr(user, "disabled", False):
        reason = "user disabled"
    else:
        reason = "wrong password" if not password_ok else "refused"
    metrics.count("LoginFailures")
    emit(
        "login.failed",
        FAILURE,
        client_id=client_id,
        sub=user.sub if user is not None else None,
        reason=reason,
        username=user.username if user is not None else None,
    )


def login_blocked(client_id: str, wait_seconds: int) -> None:
    """Refused before the account is read (SECURITY.md item 18): no username, no subject."""
    metrics.count("LoginsBlocked")
    emit(
        "login.blocked",
        FAILURE,
        client_id=client_id,
        reason=f"too many failed attempts; retry in {wait_seconds} s",
    )


def password_accepted(client_id: str, user: _Person) -> None:
    """The first step passed; the second factor is asked next (no session yet)."""
    emit("login.password_accepted", SUCCESS, client_id=client_id, sub=user.sub)


def mfa_succeeded(client_id: str, user: _Person, method: str) -> None:
    emit(
        "mfa.succeeded",
        SUCCESS,
        client_id=client_id,
        sub=user.sub,
        username=user.username,
        reason=method,
    )


def mfa_failed(client_id: str, user: _Person) -> None:
    metrics.count("LoginFailures")
    emit("mfa.failed", FAILURE, client_id=client_id, sub=user.sub, reason="wrong or used code")


def mfa_blocked(client_id: str, user: _Person, wait_seconds: int) -> None:
    metrics.count("LoginsBlocked")
    reason = f"too many failed attempts; retry in {wait_seconds} s"
    emit("mfa.blocked", FAILURE, client_id=client_id, sub=user.sub, reason=reason)


def mfa_enrolled(user: _Person, kind: str) -> None:
    emit("mfa.enrolled", SUCCESS, sub=user.sub, reason=kind)


def passkey_refused(client_id: str | None, sub: str | None, reason: str) -> None:
    """A passkey response that did not verify, or whose challenge was unknown or spent."""
    metrics.count("LoginFailures")
    emit("passkey.refused", FAILURE, client_id=client_id, sub=sub, reason=reason)


def passkey_counter_regressed(client_id: str | None, sub: str, reason: str) -> None:
    """A signed response whose counter went back: the credential may have been cloned
    (SECURITY.md item 67)."""
    metrics.count("LoginFailures")
    emit("passkey.counter_regressed", FAILURE, client_id=client_id, sub=sub, reason=reason)


def account_change(
    sub: str, change: str, outcome: str = SUCCESS, reason: str | None = None
) -> None:
    """A change on the security page (`account.<change>`): factor_added, factor_removed,
    recovery_renewed, confirmed; a refused one is a failure with why."""
    emit(f"account.{change}", outcome, sub=sub, reason=reason)


def factor_key_missing() -> None:
    """The key that seals TOTP secrets is gone while sealed secrets remain (item 69)."""
    emit("factor_key.missing", FAILURE, reason="FACTORKEY item absent; sealed factors exist")


def session_ended(sub: str, how: str) -> None:
    """A browser's sign-in ended by its user: RP-initiated logout or "Not you? Sign out"."""
    emit("session.ended", SUCCESS, sub=sub, reason=how)


# -- consent -----------------------------------------------------------------------------


def consent_granted(client_id: str, sub: str, scopes: list[str]) -> None:
    emit("consent.granted", SUCCESS, client_id=client_id, sub=sub, scope=" ".join(scopes))


def consent_denied(client_id: str, sub: str) -> None:
    emit("consent.denied", FAILURE, client_id=client_id, sub=sub, reason="denied by the user")


def consent_revoked(client_id: str, sub: str, grants_revoked: int) -> None:
    reason = f"revoked by an administrator; {grants_revoked} grant(s) revoked"
    emit("consent.revoked", SUCCESS, client_id=client_id, sub=sub, reason=reason, actor=actor())


# -- codes and tokens --------------------------------------------------------------------


def request_pushed(client_id: str) -> None:
    emit("par.pushed", SUCCESS, client_id=client_id)


def request_uri_refused(client_id: str | None, reason: str) -> None:
    """An unknown, expired, used or another client's request_uri at /authorize."""
    emit("par.request_uri_refused", FAILURE, client_id=client_id, reason=reason)


def code_issued(code: _Granted) -> None:
    emit("code.issued", SUCCESS, client_id=code.client_id, sub=code.sub, grant_id=code.grant_id)


def code_redeemed(code: _Granted) -> None:
    emit("code.redeemed", SUCCESS, client_id=code.client_id, sub=code.sub, grant_id=code.grant_id)


def code_replayed(code: _Granted) -> None:
    metrics.count("CodeReplays")
    emit(
        "code.replayed",
        FAILURE,
        client_id=code.client_id,
        sub=code.sub,
        grant_id=code.grant_id,
        reason="code used twice; grant revoked",
    )


def token_issued(grant_type: str, client_id: str) -> None:
    """After a grant succeeded: the subject and grant come from its own event (code.redeemed,
    refresh.rotated); a client_credentials token's subject is the client."""
    context = logs.current()
    sub = context.sub if context else None
    grant_id = context.grant_id if context else None
    if grant_type == "client_credentials":
        sub, grant_id = client_id, None
    metrics.count("TokensIssued", {"GrantType": grant_type})
    emit(
        "token.issued",
        SUCCESS,
        client_id=client_id,
        sub=sub,
        grant_id=grant_id,
        grant_type=grant_type,
    )


def refresh_rotated(token: _Granted) -> None:
    emit(
        "refresh.rotated",
        SUCCESS,
        client_id=token.client_id,
        sub=token.sub,
        grant_id=token.grant_id,
    )


def refresh_reuse_detected(token: _Granted) -> None:
    metrics.count("RefreshReuse")
    emit(
        "refresh.reuse_detected",
        FAILURE,
        client_id=token.client_id,
        sub=token.sub,
        grant_id=token.grant_id,
        reason="rotated refresh token presented again; grant revoked",
    )


def token_revoked(
    client_id: str,
    token_type: str | None,
    *,
    sub: str | None = None,
    grant_id: str | None = None,
    refused: str | None = None,
) -> None:
    """A revocation request (RFC 7009); `refused` says why nothing was revoked."""
    emit(
        "token.revoked",
        FAILURE if refused else SUCCESS,
        client_id=client_id,
        sub=sub,
        grant_id=grant_id,
        reason=refused,
        token_type=token_type,
    )


def token_introspected(client_id: str, active: bool, token_type: str | None = None) -> None:
    """`client_id` is the caller (the resource server), not the token's client."""
    emit("token.introspected", SUCCESS, client_id=client_id, active=active, token_type=token_type)


def client_auth_failed(client_id: str, method: str, reason: str, blocked: bool) -> None:
    metrics.count("ClientAuthFailures")
    emit(
        "client_auth.failed",
        FAILURE,
        client_id=client_id[:128],
        reason=("rate limited: " if blocked else "") + reason[:200],
        auth_method=method,
    )


def dpop_refused(client_id: str | None, endpoint: str, reason: str) -> None:
    """A DPoP proof refused at the token endpoint or UserInfo (replayed, for another request,
    another key's...). The proof and the token are never logged, only why."""
    emit("dpop.refused", FAILURE, client_id=client_id, reason=reason[:200], endpoint=endpoint)


# -- client registration (RFC 7591, RFC 7592, Client ID Metadata Documents) ---------------


def registration(
    change: str, client_id: str | None, *, refused: str | None = None, **more: Any
) -> None:
    """registration.created|updated|deleted|read, or .refused with `refused` saying why."""
    if refused is not None:
        metrics.count("RegistrationsRefused")
    outcome = FAILURE if refused else SUCCESS
    emit(f"registration.{change}", outcome, client_id=client_id, reason=refused, **more)


def document_fetched(client_id: str, refused: str | None = None) -> None:
    """A Client ID Metadata Document fetched from its URL (client_id), or refused."""
    if refused is not None:
        metrics.count("DocumentsRefused")
    outcome = FAILURE if refused else SUCCESS
    emit("document.fetched", outcome, client_id=client_id[:255], reason=refused)


# -- the command line --------------------------------------------------------------------


def actor() -> str:
    """Who ran the command line: the operating system's user name, as far as it is known."""
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no user name in this environment (a container without one)
        return "cli"


def admin(change: str, **what: Any) -> None:
    """A change made with the `tollgate` command line, e.g. admin("user.disabled", ...)."""
    emit(f"admin.{change}", SUCCESS, actor=actor(), **what)


def keys_rotated(step: str, alg: str, kid: str, retired: list[str]) -> None:
    reason = f"{step}; retired {', '.join(retired)}" if retired else step
    emit("admin.keys.rotated", SUCCESS, reason=reason, actor=actor(), alg=alg, kid=kid)
