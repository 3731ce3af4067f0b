"""`tollgate client create|list|show|delete|rotate-secret|set-jwks`: OAuth client registrations.

Client secret hashes are never printed; a client secret is printed once, by the command that
creates it.
"""

from __future__ import annotations

import argparse
from typing import Any

from chalicelib import ids
from chalicelib.admin.args import (
    DEFAULT_SCOPES,
    Groups,
    Parser,
    UsageError,
    jwks_options,
    parse_client_id,
    parse_redirect_uris,
    parse_resources,
    parse_scopes,
    parse_text,
    read_jwks,
    unique,
)
from chalicelib.admin.output import Result, fields, table, when
from chalicelib.clock import SystemClock
from chalicelib.stores.models import AUTH_METHODS, CONFIDENTIAL, PUBLIC, Client
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ["authorization_code"]
PRIVATE_KEY_JWT = "private_key_jwt"
_SHOWN_ONCE = "The secret is shown only now: Tollgate keeps only its hash. Store it safely."


def client_view(client: Client) -> dict[str, Any]:
    """A client as shown to an admin: named fields only, so no stored hash can slip out."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "client_type": client.client_type,
        "auth_method": client.auth_method,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "has_secret": client.secret_hash is not None,
        "may_introspect": client.may_introspect,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "resources": list(client.resources),
        "jwks": client.jwks,  # public keys only (private_key_jwt)
        "created_at": client.created_at,
    }


def _client_text(client: Client) -> str:
    return fields(
        [
            ("client_id", client.client_id),
            ("name", client.name),
            ("type", client.client_type),
            ("auth_method", client.auth_method),
            ("redirect_uris", client.redirect_uris),
            ("grant_types", " ".join(client.grant_types)),
            ("scopes", " ".join(client.scopes)),
            ("secret", "set (only its hash is stored)" if client.secret_hash else "none"),
            ("introspects", "every token" if client.may_introspect else "its own tokens"),
            ("keys", _kids(client)),
            ("created", when(client.created_at)),
        ]
    )


def _kids(client: Client) -> str:
    if not client.jwks:
        return "-"
    return ", ".join(str(jwk.get("kid")) for jwk in client.jwks.get("keys", []))


def _require_client(store: Store, client_id: str) -> Client:
    client = store.clients.get(client_id)
    if client is None:
        raise UsageError(f"no client with id {client_id!r}")
    return client


def client_create(args: argparse.Namespace, store: Store) -> Result:
    name = parse_text(args.name, "--name")
    client_type: str = args.type
    public = client_type == PUBLIC
    auth_method: str = args.auth_method or ("none" if public else "client_secret_basic")
    if public and auth_method != "none":
        raise UsageError(
            f"a public client cannot authenticate with {auth_method}: it has no secret "
            "(use --auth-method none, or --type confidential)"
        )
    if not public and auth_method == "none":
        raise UsageError(
            "a confidential client authenticates with client_secret_basic, "
            "client_secret_post or private_key_jwt (use --type public for --auth-method none)"
        )
    jwks = read_jwks(args)
    if auth_method == PRIVATE_KEY_JWT and jwks is None:
        raise UsageError(
            "private_key_jwt needs the client's public keys: --jwks-file PATH or --jwks JSON"
        )
    if auth_method != PRIVATE_KEY_JWT and jwks is not None:
        raise UsageError("--jwks and --jwks-file are only for --auth-method private_key_jwt")
    if public and args.introspect:
        raise UsageError("--introspect is only for confidential clients (resource servers)")
    grant_types = unique(args.grant_type or DEFAULT_GRANT_TYPES)
    if public and "client_credentials" in grant_types:
        raise UsageError("client_credentials is only for confidential clients")
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise UsageError("refresh_token needs the authorization_code grant type as well")
    redirect_uris = parse_redirect_uris(args.redirect_uri)
    if "authorization_code" in grant_types and not redirect_uris:
        raise UsageError("the authorization_code grant needs at least one --redirect-uri")
    scopes = parse_scopes(args.scope)
    client_id = parse_client_id(args.client_id) if args.client_id is not None else ids.new_id()

    secret = None if public or auth_method == PRIVATE_KEY_JWT else ids.new_secret()
    client = Client(
        client_id=client_id,
        name=name,
        client_type=client_type,
        auth_method=auth_method,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        scopes=scopes,
        secret_hash=ids.digest(secret) if secret else None,
        created_at=SystemClock().now(),
        jwks=jwks,
        may_introspect=args.introspect,
        id_token_signed_response_alg=args.id_token_alg,
        post_logout_redirect_uris=parse_redirect_uris(args.post_logout_redirect_uri),
        resources=parse_resources(args.resource),
    )
    try:
        store.clients.create(client)
    except ItemExists:
        raise UsageError(f"a client with id {client_id!r} already exists") from None

    data = client_view(client)
    text = f"Created {client_type} client {name!r}.\n{_client_text(client)}"
    if secret:
        data["client_secret"] = secret
        text += f"\n\nclient_secret: {secret}\n{_SHOWN_ONCE}"
    return Result(data, text)


def client_list(args: argparse.Namespace, store: Store) -> Result:
    clients = store.clients.all()
    rows = [
        [c.client_id, c.client_type, c.auth_method, " ".join(c.grant_types), c.name]
        for c in clients
    ]
    headers = ["CLIENT_ID", "TYPE", "AUTH_METHOD", "GRANT_TYPES", "NAME"]
    return Result([client_view(c) for c in clients], table(headers, rows, "No clients."))


def client_show(args: argparse.Namespace, store: Store) -> Result:
    client = _require_client(store, args.client_id)
    return Result(client_view(client), _client_text(client))


def client_delete(args: argparse.Namespace, store: Store) -> Result:
    client = _require_client(store, args.client_id)
    store.clients.delete(client.client_id)
    return Result(
        {"deleted": True, "client_id": client.client_id},
        f"Deleted client {client.client_id!r} ({client.name}).",
    )


def client_rotate_secret(args: argparse.Namespace, store: Store) -> Result:
    client = _require_client(store, args.client_id)
    if client.client_type != CONFIDENTIAL:
        raise UsageError(f"client {client.client_id!r} is public: it has no secret to rotate")
    if client.auth_method == PRIVATE_KEY_JWT:
        raise UsageError(
            f"client {client.client_id!r} uses private_key_jwt: it has no secret "
            "(change its keys with set-jwks)"
        )
    secret = ids.new_secret()
    client.secret_hash = ids.digest(secret)
    store.clients.save(client)
    return Result(
        {"client_id": client.client_id, "client_secret": secret},
        f"New secret for client {client.client_id!r}; the old one no longer works.\n\n"
        f"client_secret: {secret}\n{_SHOWN_ONCE}",
    )


def client_set_jwks(args: argparse.Namespace, store: Store) -> Result:
    client = _require_client(store, args.client_id)
    if client.auth_method != PRIVATE_KEY_JWT:
        raise UsageError(
            f"client {client.client_id!r} uses {client.auth_method}, not private_key_jwt"
        )
    jwks = read_jwks(args)
    if jwks is None:
        raise UsageError("give the new keys with --jwks-file PATH or --jwks JSON")
    client.jwks = jwks
    store.clients.save(client)
    return Result(
        client_view(client),
        f"New keys for client {client.client_id!r}: {_kids(client)}. Assertions signed with "
        "any other key are refused from now on (by running servers within the client cache "
        "lifetime).",
    )


# -- the parser ----------------------------------------------------------------------------


def add_commands(groups: Groups, leaf: Parser) -> None:
    client = groups.add_parser("client", help="register and manage OAuth clients")
    cmds = client.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = cmds.add_parser("create", parents=[leaf], help="register a client")
    create.add_argument("--name", required=True, help="shown to users on the consent page")
    create.add_argument("--type", choices=[CONFIDENTIAL, PUBLIC], default=CONFIDENTIAL)
    create.add_argument(
        "--auth-method",
        choices=AUTH_METHODS,
        help="token endpoint authentication (default: client_secret_basic, or none if public)",
    )
    create.add_argument(
        "--redirect-uri",
        action="append",
        metavar="URI",
        help="an allowed redirect URI (repeatable; needed for authorization_code)",
    )
    create.add_argument(
        "--grant-type",
        action="append",
        choices=GRANT_TYPES,
        metavar="GRANT",
        help=f"one of {', '.join(GRANT_TYPES)} (repeatable; default authorization_code)",
    )
    create.add_argument(
        "--scope",
        action="append",
        metavar="SCOPES",
        help=f"allowed scopes, space-separated (repeatable; default {DEFAULT_SCOPES!r})",
    )
    create.add_argument("--client-id", help="the client id (default: a random one)")
    create.add_argument(
        "--id-token-alg",
        choices=["RS256", "ES256"],
        default="RS256",
        help="how its ID tokens are signed (OIDC id_token_signed_response_alg)",
    )
    create.add_argument(
        "--post-logout-redirect-uri",
        action="append",
        metavar="URI",
        help="where /logout may send the browser afterwards (repeatable; exact match)",
    )
    create.add_argument(
        "--resource",
        action="append",
        metavar="URI",
        help="an API (audience) it may ask tokens for, RFC 8707 (repeatable)",
    )
    create.add_argument(
        "--introspect",
        action="store_true",
        help="a resource server: may introspect every token at /introspect (RFC 7662)",
    )
    jwks_options(create)
    create.set_defaults(handler=client_create)

    cmds.add_parser("list", parents=[leaf], help="list clients").set_defaults(handler=client_list)
    for name, handler, text in (
        ("show", client_show, "show a client"),
        ("delete", client_delete, "delete a client"),
        ("rotate-secret", client_rotate_secret, "give a confidential client a new secret"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("client_id", metavar="CLIENT_ID")
        sub.set_defaults(handler=handler)

    sub = cmds.add_parser(
        "set-jwks", parents=[leaf], help="replace a private_key_jwt client's public keys"
    )
    sub.add_argument("client_id", metavar="CLIENT_ID")
    jwks_options(sub)
    sub.set_defaults(handler=client_set_jwks)
