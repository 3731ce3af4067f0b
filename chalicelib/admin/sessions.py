"""`tollgate user sessions|signout USERNAME`: see and end a user's sign-in sessions.

A session is shown by its public name (the ID tokens' `sid` claim), never by its cookie or
the cookie's hash. Ending the sessions signs the user out of Tollgate in every browser; the
tokens already issued to clients live on (end them with `user revoke-grants`).
"""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.args import Groups, Parser
from chalicelib.admin.output import Result, table, when
from chalicelib.admin.users import require_user
from chalicelib.observability import audit
from chalicelib.stores.models import Session
from chalicelib.stores.repository import Store


def session_view(session: Session) -> dict[str, Any]:
    return {
        "sid": session.sid,
        "username": session.username,
        "sub": session.sub,
        "auth_time": session.auth_time,
        "expires_at": session.expires_at,
        "amr": list(session.amr),
    }


def user_sessions(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    sessions = store.sessions.list_for(user.sub)
    rows = [
        [s.sid or "-", when(s.auth_time), when(s.expires_at), " ".join(s.amr)] for s in sessions
    ]
    headers = ["SID", "SIGNED_IN", "EXPIRES", "AMR"]
    empty = f"No sessions for {user.username!r}."
    return Result([session_view(s) for s in sessions], table(headers, rows, empty))


def user_signout(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.username)
    ended = store.accounts.sign_out(user)
    audit.admin("user.signed_out", sub=user.sub, username=user.username)
    return Result(
        {"username": user.username, "sub": user.sub, "sessions_ended": ended.sessions},
        f"Signed {user.username!r} out: ended {ended.sessions} session(s).",
    )


def add_commands(cmds: Groups, leaf: Parser) -> None:
    """Under `user`: `cmds` is the user group's subparsers."""
    for name, handler, text in (
        ("sessions", user_sessions, "list a user's sign-in sessions"),
        ("signout", user_signout, "end all of a user's sign-in sessions"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("username", metavar="USERNAME")
        sub.set_defaults(handler=handler)
