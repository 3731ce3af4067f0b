"""`tollgate user create|set-password|set-claims|disable|enable|show|list`: user accounts.

Password hashes are never printed.
"""

from __future__ import annotations

import argparse
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
from chalicelib.stores.models import User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists


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
    }


def _user_text(user: User) -> str:
    return fields(
        [
            ("username", user.username),
            ("sub", user.sub),
            ("status", "disabled" if user.disabled else "enabled"),
            ("name", user.name or "-"),
            ("email", user.email or "-"),
            ("created", when(user.created_at)),
        ]
    )


def require_user(store: Store, username: str) -> User:
    user = store.users.get(username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


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
    return Result(user_view(user), f"Created user {username!r}.\n{_user_text(user)}")


def user_set_password(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    user.password_hash = hash_password(read_password(args))
    store.users.save(user)
    return Result(
        {"username": user.username, "password_changed": True},
        f"Changed the password of {user.username!r}.",
    )


def _set_disabled(store: Store, username: str, disabled: bool) -> Result:
    user = require_user(store, username)
    user.disabled = disabled
    store.users.save(user)
    word = "Disabled" if disabled else "Enabled"
    return Result(user_view(user), f"{word} user {user.username!r}.")


def user_disable(args: argparse.Namespace, store: Store) -> Result:
    return _set_disabled(store, args.username, True)


def user_enable(args: argparse.Namespace, store: Store) -> Result:
    return _set_disabled(store, args.username, False)


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
    return Result(user_view(user), f"Updated user {user.username!r}.\n{_user_text(user)}")


def user_show(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
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


def add_commands(groups: Groups, leaf: Parser) -> None:
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
        ("disable", user_disable, "stop a user from signing in"),
        ("enable", user_enable, "let a disabled user sign in again"),
        ("show", user_show, "show a user"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("username", metavar="USERNAME")
        sub.set_defaults(handler=handler)

    listing = cmds.add_parser("list", parents=[leaf], help="list users, by username")
    page_options(listing, "users")
    listing.set_defaults(handler=user_list)
