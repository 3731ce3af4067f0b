"""`tollgate user factors|remove-factor|reset-mfa|require-mfa`: a user's second factors.

A lost device: `reset-mfa` removes every factor and recovery code and ends the user's
sessions (an audit event, SECURITY.md item 59); the user signs in with the password and
enrols again where MFA is required. Secrets are never printed: a factor is shown by its id,
kind, label and dates (a passkey also by its backup flags and signature counter).
"""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.args import Groups, NotFound, Parser
from chalicelib.admin.output import Result, table, when
from chalicelib.admin.users import require_user
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.models import Factor
from chalicelib.stores.repository import Store


def factor_view(factor: Factor) -> dict[str, Any]:
    view: dict[str, Any] = {
        "factor_id": factor.factor_id,
        "kind": factor.kind,
        "label": factor.label,
        "created_at": factor.created_at,
        "last_used_at": factor.last_used_at,
    }
    if factor.kind == "passkey":
        view.update(
            sign_count=factor.sign_count,
            transports=list(factor.transports),
            backup_eligible=factor.backup_eligible,
            backed_up=factor.backed_up,
        )
    return view


def user_factors(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    factors = store.factors.list_for(user.username)
    left = store.factors.recovery_left(user.username)
    rows = [
        [f.factor_id, f.kind, f.label or "-", when(f.created_at), when(f.last_used_at or 0)]
        for f in factors
    ]
    headers = ["FACTOR", "KIND", "LABEL", "ADDED", "LAST_USED"]
    empty = f"No second factors for {user.username!r}."
    required = "yes" if user.mfa_required else "no"
    note = f"recovery codes left: {left}; MFA required for this user: {required}"
    data = {
        "username": user.username,
        "mfa_required": user.mfa_required,
        "recovery_codes_left": left,
        "factors": [factor_view(f) for f in factors],
    }
    return Result(data, table(headers, rows, empty) + "\n" + note)


def user_remove_factor(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.remove_factor(user, args.factor_id, SystemClock().now())
    if ended is None:
        raise NotFound(f"{user.username!r} has no factor {args.factor_id!r}")
    audit.admin("user.factor_removed", sub=user.sub, username=user.username)
    return Result(
        {
            "username": user.username,
            "removed": args.factor_id,
            "sessions_ended": ended.sessions,
            "grants_revoked": len(ended.revoked_grants),
        },
        f"Removed factor {args.factor_id} of {user.username!r}; ended {ended.sessions} "
        f"session(s) and revoked {len(ended.revoked_grants)} grant(s).",
    )


def user_reset_mfa(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.reset_mfa(user, SystemClock().now())
    audit.admin("user.mfa_reset", sub=user.sub, username=user.username)
    return Result(
        {
            "username": user.username,
            "factors_removed": ended.factors,
            "sessions_ended": ended.sessions,
            "grants_revoked": len(ended.revoked_grants),
        },
        f"Reset {user.username!r}'s second factors: removed {ended.factors} factor(s) and "
        f"the recovery codes; ended {ended.sessions} session(s) and revoked "
        f"{len(ended.revoked_grants)} grant(s).",
    )


def user_require_mfa(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    user.mfa_required = not args.off
    user.updated_at = SystemClock().now()
    store.users.save(user)
    audit.admin("user.mfa_required" if user.mfa_required else "user.mfa_optional", sub=user.sub)
    what = "needs a second factor" if user.mfa_required else "may sign in with a password alone"
    return Result(
        {"username": user.username, "mfa_required": user.mfa_required},
        f"{user.username!r} now {what}.",
    )


def add_commands(cmds: Groups, leaf: Parser) -> None:
    """Under `user`: `cmds` is the user group's subparsers."""
    for name, handler, text in (
        ("factors", user_factors, "list a user's second factors"),
        ("reset-mfa", user_reset_mfa, "remove all second factors; end the sessions"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("username", metavar="USERNAME")
        sub.set_defaults(handler=handler)
    sub = cmds.add_parser("remove-factor", parents=[leaf], help="remove one second factor")
    sub.add_argument("username", metavar="USERNAME")
    sub.add_argument("factor_id", metavar="FACTOR_ID")
    sub.set_defaults(handler=user_remove_factor)
    sub = cmds.add_parser("require-mfa", parents=[leaf], help="require a second factor")
    sub.add_argument("username", metavar="USERNAME")
    sub.add_argument("--off", action="store_true", help="make it optional again")
    sub.set_defaults(handler=user_require_mfa)
