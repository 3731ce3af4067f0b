"""`tollgate grant list|revoke`: see and end users' grants (one user x client authorization).

    tollgate grant list --user USERNAME [--all]
    tollgate grant revoke GRANT_ID
    tollgate grant revoke --user USERNAME --client CLIENT_ID

A revoked grant's refresh tokens stop at once (invalid_grant), and its access tokens stop
wherever grants are checked (UserInfo, introspection, the authorizer in revocation mode).
Revoking by user and client also deletes the consent, so the next authorization asks again.
"""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib.admin.args import Groups, NotFound, Parser, UsageError, parse_client_id
from chalicelib.admin.output import Result, fields, table, when
from chalicelib.admin.users import require_user
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.models import Grant
from chalicelib.stores.repository import Store

ADMIN_REASON = "revoked by an admin"
CONSENT_REASON = "consent revoked by an admin"


def grant_view(grant: Grant) -> dict[str, Any]:
    return {
        "grant_id": grant.grant_id,
        "sub": grant.sub,
        "client_id": grant.client_id,
        "scopes": list(grant.scopes),
        "created_at": grant.created_at,
        "active": grant.active,
        "revoked_at": grant.revoked_at,
        "revoked_reason": grant.revoked_reason,
    }


def _revoked_text(grant: Grant) -> str:
    if grant.revoked_at is None:
        return "-"
    return f"{when(grant.revoked_at)} ({grant.revoked_reason or 'no reason'})"


def grant_list(args: argparse.Namespace, store: Store) -> Result:
    user = require_user(store, args.user)
    grants = [g for g in store.grants.list_for(user.sub) if args.all or g.active]
    rows = [
        [g.grant_id, g.client_id, " ".join(g.scopes), when(g.created_at), _revoked_text(g)]
        for g in grants
    ]
    headers = ["GRANT_ID", "CLIENT", "SCOPES", "CREATED", "REVOKED"]
    empty = f"No {'' if args.all else 'active '}grants for {user.username!r}."
    return Result([grant_view(g) for g in grants], table(headers, rows, empty))


def grant_revoke(args: argparse.Namespace, store: Store) -> Result:
    if args.grant_id is not None:
        if args.user is not None or args.client is not None:
            raise UsageError("give either GRANT_ID or --user and --client, not both")
        return _revoke_one(store, args.grant_id)
    if args.user is None or args.client is None:
        raise UsageError("give GRANT_ID, or --user USERNAME and --client CLIENT_ID")
    return _revoke_consent(store, args.user, parse_client_id(args.client))


def _revoke_one(store: Store, grant_id: str) -> Result:
    grant = store.grants.get(grant_id)
    if grant is None:
        raise NotFound(f"no grant with id {grant_id!r}")
    if not grant.active:
        return Result(
            {**grant_view(grant), "revoked_now": False},
            f"Grant {grant_id!r} was already revoked: {_revoked_text(grant)}.",
        )
    store.grants.revoke(grant_id, SystemClock().now(), ADMIN_REASON)
    audit.admin("grant.revoked", grant_id=grant_id, client_id=grant.client_id, sub=grant.sub)
    revoked = store.grants.get(grant_id) or grant
    return Result(
        {**grant_view(revoked), "revoked_now": True},
        f"Revoked grant {grant_id!r}.\n"
        + fields(
            [
                ("client", revoked.client_id),
                ("sub", revoked.sub),
                ("scopes", " ".join(revoked.scopes)),
                ("created", when(revoked.created_at)),
                ("revoked", _revoked_text(revoked)),
            ]
        ),
    )


def _revoke_consent(store: Store, username: str, client_id: str) -> Result:
    user = require_user(store, username)
    had_consent = store.consents.get(user.sub, client_id) is not None
    if (
        not had_consent
        and store.clients.get(client_id) is None
        and not any(g.client_id == client_id for g in store.grants.list_for(user.sub))
    ):
        # A typo must not look like a success (a deleted client's grants can still go).
        raise NotFound(f"no client with id {client_id!r}, and {username!r} has no grants for it")
    revoked = store.consents.revoke(user.sub, client_id, SystemClock().now(), CONSENT_REASON)
    audit.consent_revoked(client_id, user.sub, len(revoked))
    data = {
        "username": user.username,
        "sub": user.sub,
        "client_id": client_id,
        "consent_deleted": had_consent,
        "revoked_grants": revoked,
    }
    consent = "deleted the consent" if had_consent else "there was no consent"
    ids = ", ".join(revoked) if revoked else "none active"
    text = (
        f"Revoked {user.username!r}'s authorization of client {client_id!r}: {consent}; "
        f"grants revoked: {ids}."
    )
    return Result(data, text)


def add_commands(groups: Groups, leaf: Parser) -> None:
    group = groups.add_parser("grant", help="list and revoke users' grants")
    cmds = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    listing = cmds.add_parser("list", parents=[leaf], help="a user's grants")
    listing.add_argument("--user", required=True, metavar="USERNAME")
    listing.add_argument("--all", action="store_true", help="revoked grants too")
    listing.set_defaults(handler=grant_list)

    revoke = cmds.add_parser(
        "revoke",
        parents=[leaf],
        help="revoke one grant, or (--user, --client) a user's consent and grants for a client",
    )
    revoke.add_argument("grant_id", nargs="?", metavar="GRANT_ID")
    revoke.add_argument("--user", metavar="USERNAME")
    revoke.add_argument("--client", metavar="CLIENT_ID")
    revoke.set_defaults(handler=grant_revoke)
