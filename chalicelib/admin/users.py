"""`tollgate user create|set-password|set-claims|disable|enable|show|list|revoke-grants|delete`:
user accounts (`user sessions|signout` are in admin/sessions.py).

What each change does to the user's sessions and grants (stores/accounts.py, SECURITY.md
items 27 and 33): `set-password` ends every session; `disable` ends every session and
revokes every grant, and `enable` brings none of them back; `revoke-grants` revokes every
grant and deletes the consents; `delete` removes the user, its subject pointer, sessions,
consents and grants. Password hashes are never printed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from chalicelib import ids
from chalicelib.admin.args import (
    Groups,
    NotFound,
    Parser,
    UsageError,
    hash_password,
    parse_claims,
    parse_email,
    parse_text,
    parse_username,
    password_options,
    read_password,
)
from chalicelib.admin.output import (
    Result,
    collect,
    fields,
    next_page_note,
    page_options,
    table,
    when,
)
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.models import User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists

REVOKED_REASON = "all grants revoked by an admin"


def user_view(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "sub": user.sub,
        "disabled": user.disabled,
        "name": user.name,
        "email": user.email,
        "email_verified": user.email_verified,
        "claims": dict(user.claims),
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "mfa_required": user.mfa_required,
    }


def _user_text(user: User) -> str:
    """Everything user_view holds (what --json prints), as a field list."""
    claims = [f"{name}={json.dumps(value)}" for name, value in sorted(user.claims.items())]
    return fields(
        [
            ("username", user.username),
            ("sub", user.sub),
            ("status", "disabled" if user.disabled else "enabled"),
            ("name", user.name or "-"),
            ("email", user.email or "-"),
            ("email_verified", "yes" if user.email_verified else "no"),
            ("claims", claims),
            ("created", when(user.created_at)),
            ("updated", when(user.updated_at)),
            ("mfa_required", "yes" if user.mfa_required else "no"),
        ]
    )


def require_user(store: Store, username: str) -> User:
    user = store.users.get(username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


def _find_user(args: argparse.Namespace, store: Store) -> User:
    """By USERNAME, --sub or --email: exactly one of them."""
    given = [v for v in (args.username, args.sub, args.email) if v is not None]
    if len(given) != 1:
        raise UsageError("give one of USERNAME, --sub SUB or --email EMAIL")
    if args.username is not None:
        return require_user(store, args.username)
    if args.sub is not None:
        user = store.users.get_by_sub(args.sub)
        if user is None:
            raise NotFound(f"no user with sub {args.sub!r}")
        return user
    found = store.users.with_email(parse_email(args.email))
    if not found:
        raise NotFound(f"no user with email {args.email!r}")
    if len(found) > 1:
        names = ", ".join(repr(u.username) for u in found)
        raise UsageError(f"{len(found)} users have email {args.email!r} ({names}): name one")
    return found[0]


def user_create(args: argparse.Namespace, store: Store) -> Result:
    username = parse_username(args.username)
    name = parse_text(args.name, "--name") if args.name is not None else None
    email = parse_email(args.email) if args.email is not None else None
    if store.users.get(username) is not None:  # before the slow hash
        raise UsageError(f"a user named {username!r} already exists")
    user = User(
        username=username,
        sub=ids.new_id(),
        password_hash=hash_password(read_password(args)),
        name=name,
        email=email,
        created_at=SystemClock().now(),
    )
    try:
        store.users.create(user)
    except ItemExists:
        raise UsageError(f"a user named {username!r} already exists") from None
    audit.admin("user.created", sub=user.sub, username=user.username)
    return Result(user_view(user), f"Created user {username!r}.\n{_user_text(user)}")


def user_set_password(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.set_password(user, hash_password(read_password(args)))
    audit.admin("user.password_set", sub=user.sub, username=user.username)
    return Result(
        {"username": user.username, "password_changed": True, "sessions_ended": ended.sessions},
        f"Changed the password of {user.username!r}; ended {ended.sessions} session(s).",
    )


def user_disable(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.disable(user, SystemClock().now())
    audit.admin("user.disabled", sub=user.sub, username=user.username)
    user.disabled = True
    data = {
        **user_view(user),
        "sessions_ended": ended.sessions,
        "revoked_grants": ended.revoked_grants,
    }
    return Result(
        data,
        f"Disabled user {user.username!r}: ended {ended.sessions} session(s), "
        f"revoked {len(ended.revoked_grants)} grant(s).",
    )


def user_enable(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    store.accounts.enable(user)
    audit.admin("user.enabled", sub=user.sub, username=user.username)
    user.disabled = False
    return Result(
        user_view(user),
        f"Enabled user {user.username!r}. Sessions ended and grants revoked before stay so: "
        "the user signs in and authorizes clients again.",
    )


def user_revoke_grants(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.revoke_grants(user, SystemClock().now(), REVOKED_REASON)
    audit.admin("user.grants_revoked", sub=user.sub, username=user.username)
    ids_text = ", ".join(ended.revoked_grants) or "none active"
    return Result(
        {
            "username": user.username,
            "sub": user.sub,
            "revoked_grants": ended.revoked_grants,
            "deleted_consents": ended.deleted_consents,
        },
        f"Revoked all of {user.username!r}'s grants: {ids_text}; deleted "
        f"{len(ended.deleted_consents)} consent(s), so every client asks again.",
    )


def user_delete(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.delete(user, SystemClock().now())
    audit.admin("user.deleted", sub=user.sub, username=user.username)
    return Result(
        {
            "deleted": True,
            "username": user.username,
            "sub": user.sub,
            "sessions_ended": ended.sessions,
            "deleted_grants": ended.deleted_grants,
            "deleted_consents": ended.deleted_consents,
        },
        f"Deleted user {user.username!r} (sub {user.sub}): ended {ended.sessions} session(s), "
        f"deleted {len(ended.deleted_grants)} grant(s) and "
        f"{len(ended.deleted_consents)} consent(s).",
    )


def user_set_claims(args: argparse.Namespace, store: Store) -> Result:
    if args.name is None and args.email is None and not args.claim and args.email_verified is None:
        raise UsageError(
            "give --name, --email, --email-verified and/or --claim NAME=VALUE "
            "(an empty value removes the claim)"
        )
    user = require_user(store, args.username)
    if args.name is not None:
        user.name = parse_text(args.name, "--name") if args.name.strip() else None
    if args.email is not None:
        user.email = parse_email(args.email) if args.email.strip() else None
    if args.email_verified is not None:
        user.email_verified = args.email_verified == "yes"
    for name, value in parse_claims(args.claim or []):
        if value is None:
            user.claims.pop(name, None)
        else:
            user.claims[name] = value
    user.updated_at = SystemClock().now()
    store.users.save(user)
    audit.admin("user.claims_set", sub=user.sub, username=user.username)
    return Result(user_view(user), f"Updated user {user.username!r}.\n{_user_text(user)}")


def user_show(args: argparse.Namespace, store: Store) -> Result:
    user = _find_user(args, store)
    return Result(user_view(user), _user_text(user))


def user_list(args: argparse.Namespace, store: Store) -> Result:
    users, after = collect(store.users.page, args)
    rows = [
        [u.username, u.sub, "disabled" if u.disabled else "enabled", u.name or "", u.email or ""]
        for u in users
    ]
    headers = ["USERNAME", "SUB", "STATUS", "NAME", "EMAIL"]
    note = next_page_note("tollgate user list", after)
    return Result([user_view(u) for u in users], table(headers, rows, "No users."), note)


# -- the parser ----------------------------------------------------------------------------


def add_commands(groups: Groups, leaf: Parser) -> Groups:
    """The `user` commands; returns the group's subparsers (admin/sessions.py adds more)."""
    user = groups.add_parser("user", help="manage user accounts")
    cmds = user.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub = cmds.add_parser("create", parents=[leaf], help="create a user")
    sub.add_argument("username", metavar="USERNAME")
    password_options(sub)
    sub.add_argument("--name", help="the name claim")
    sub.add_argument("--email", help="the email claim")
    sub.set_defaults(handler=user_create)

    sub = cmds.add_parser("set-password", parents=[leaf], help="change a user's password")
    sub.add_argument("username", metavar="USERNAME")
    password_options(sub)
    sub.set_defaults(handler=user_set_password)

    sub = cmds.add_parser("set-claims", parents=[leaf], help="change a user's name or email")
    sub.add_argument("username", metavar="USERNAME")
    sub.add_argument("--name", help="the name claim (empty: remove)")
    sub.add_argument("--email", help="the email claim (empty: remove)")
    sub.add_argument("--email-verified", choices=["yes", "no"], help="the email_verified claim")
    sub.add_argument(
        "--claim",
        action="append",
        metavar="NAME=VALUE",
        help="another OIDC standard claim (given_name, phone_number, address as JSON, ...); "
        "repeatable; NAME= removes it",
    )
    sub.set_defaults(handler=user_set_claims)

    for name, handler, text in (
        ("disable", user_disable, "stop a user: end its sessions, revoke its grants"),
        ("enable", user_enable, "let a disabled user sign in again (nothing else comes back)"),
        ("revoke-grants", user_revoke_grants, "revoke all of a user's grants and consents"),
        ("delete", user_delete, "delete a user with its sessions, consents and grants"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("username", metavar="USERNAME")
        sub.set_defaults(handler=handler)

    show = cmds.add_parser("show", parents=[leaf], help="show a user (by name, sub or email)")
    show.add_argument("username", nargs="?", metavar="USERNAME")
    show.add_argument("--sub", help="find the user by its sub")
    show.add_argument("--email", help="find the user by its email")
    show.set_defaults(handler=user_show)

    listing = cmds.add_parser("list", parents=[leaf], help="list users, by username")
    page_options(listing, "users")
    listing.set_defaults(handler=user_list)
    return cmds
