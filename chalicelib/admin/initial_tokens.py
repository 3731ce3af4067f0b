"""`tollgate registration token create|revoke`: initial access tokens (RFC 7591 3), which
admit the dynamic registrations that open registration does not (README, "Client
registration"). Only the token's hash is stored; the token is printed once, by create.
"""

from __future__ import annotations

import argparse

from chalicelib import ids
from chalicelib.admin.args import Groups, NotFound, Parser, UsageError, parse_text
from chalicelib.admin.output import Result, fields, when
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.registration_tokens import InitialAccessToken
from chalicelib.stores.repository import Store

SHOWN_ONCE = "The token is shown only now: Tollgate keeps only its hash. Hand it over safely."
MAX_EXPIRES_IN = 365 * 86400


def token_create(args: argparse.Namespace, store: Store) -> Result:
    expires_in: int | None = args.expires_in
    if expires_in is not None and not 60 <= expires_in <= MAX_EXPIRES_IN:
        raise UsageError(f"--expires-in is 60 to {MAX_EXPIRES_IN} seconds")
    note = parse_text(args.note, "--note") if args.note else ""
    now = SystemClock().now()
    token = ids.new_secret()
    record = InitialAccessToken(
        token_hash=ids.digest(token),
        created_at=now,
        expires_at=None if expires_in is None else now + expires_in,
        single_use=args.single_use,
        note=note,
    )
    store.registration_tokens.create(record)
    reason = "single use" if record.single_use else "reusable"
    audit.admin("registration_token.created", reason=f"{reason}; {note}".rstrip("; "))
    data = {
        "initial_access_token": token,
        "expires_at": record.expires_at,
        "single_use": record.single_use,
        "note": note,
    }
    text = fields(
        [
            ("expires", when(record.expires_at) if record.expires_at else "never (revoke it)"),
            ("use", "once" if record.single_use else "any number of registrations"),
            ("note", note or "-"),
        ]
    )
    return Result(data, f"{text}\n\ninitial_access_token: {token}\n{SHOWN_ONCE}")


def token_revoke(args: argparse.Namespace, store: Store) -> Result:
    token: str = args.token
    if not ids.is_client_id(token):  # visible ASCII, bounded: never a storage lookup else
        raise UsageError("not an initial access token")
    if not store.registration_tokens.revoke(ids.digest(token)):
        raise NotFound("no such initial access token (or it expired)")
    audit.admin("registration_token.revoked")
    return Result({"revoked": True}, "Revoked the initial access token.")


def add_commands(groups: Groups, leaf: Parser) -> None:
    group = groups.add_parser("registration", help="dynamic client registration")
    cmds = group.add_subparsers(dest="command", required=True, metavar="COMMAND")
    token = cmds.add_parser("token", help="initial access tokens (RFC 7591)")
    sub = token.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = sub.add_parser("create", parents=[leaf], help="make an initial access token")
    create.add_argument(
        "--expires-in", type=int, metavar="SECONDS", help="lifetime (default: until revoked)"
    )
    create.add_argument("--single-use", action="store_true", help="admits one registration only")
    create.add_argument("--note", help="what it is for (kept with it, shown in the audit)")
    create.set_defaults(handler=token_create)
    revoke = sub.add_parser("revoke", parents=[leaf], help="revoke an initial access token")
    revoke.add_argument("token", metavar="TOKEN")
    revoke.set_defaults(handler=token_revoke)
