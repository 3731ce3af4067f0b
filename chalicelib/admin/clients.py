"""`tollgate client create|list|show|update|delete|rotate-secret|set-jwks`: OAuth clients.

Client secret hashes are never printed; a client secret is printed once, by the command that
creates it.
"""

from __future__ import annotations

import argparse

from chalicelib import ids
from chalicelib.admin import client_update, registration, resources
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
from chalicelib.admin.output import Result, collect, next_page_note, page_options, table
from chalicelib.admin.registration import (
    DEFAULT_GRANT_TYPES,
    GRANT_TYPES,
    PRIVATE_KEY_JWT,
    SECRET_METHODS,
    SHOWN_ONCE,
    client_text,
    client_view,
    kids,
    needs_secret,
    require_client,
)
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.models import (
    AUTH_METHODS,
    CONFIDENTIAL,
    PROFILES,
    PUBLIC,
    Client,
)
from chalicelib.stores.repository import Store
from chalicelib.stores.scope_policies import SCOPE_POLICIES, STRICT
from chalicelib.stores.table import ItemExists

# What a change of credentials does on running servers: a server that refuses credentials
# reads the client again before refusing (endpoints/client_request.py), so new credentials
# work at once; old ones only where a container still caches the client.
_CACHE = (
    "a server container that read this client within the last TOLLGATE_CLIENT_CACHE_TTL "
    "seconds (default 60) still accepts {old} until its cached copy expires or the new "
    "{new} is used there."
)
OLD_SECRET = (
    "It works at once. The old secret is refused from now on, except that "
    + _CACHE.format(old="the old secret", new="secret")
)
OLD_KEYS = (
    "Assertions signed with them work at once. Other keys are refused from now on, except "
    "that " + _CACHE.format(old="the old keys", new="keys")
)


def client_create(args: argparse.Namespace, store: Store) -> Result:
    name = parse_text(args.name, "--name")
    client_type: str = args.type
    auth_method: str = args.auth_method or ("none" if client_type == PUBLIC else SECRET_METHODS[0])
    registration.check_method(client_type, auth_method)
    grant_types = unique(args.grant_type or DEFAULT_GRANT_TYPES)
    redirect_uris = parse_redirect_uris(args.redirect_uri)
    scopes = parse_scopes(args.scope)
    client_id = parse_client_id(args.client_id) if args.client_id is not None else ids.new_id()
    client = Client(
        client_id=client_id,
        name=name,
        client_type=client_type,
        auth_method=auth_method,
        redirect_uris=redirect_uris,
        grant_types=grant_types,
        scopes=scopes,
        created_at=SystemClock().now(),
        jwks=read_jwks(args),
        may_introspect=args.introspect,
        id_token_signed_response_alg=args.id_token_alg,
        post_logout_redirect_uris=parse_redirect_uris(args.post_logout_redirect_uri),
        resources=parse_resources(args.resource),
        pkce_required=not args.allow_no_pkce,
        dpop_bound_access_tokens=args.dpop_required,
        require_pushed_authorization_requests=args.require_par,
        profile=args.profile or "",
        require_mfa=args.require_mfa,
        scope_policy=args.scope_policy,
    )
    registration.check(client)
    resources.require_registered(store, client.resources)
    secret = ids.new_secret() if needs_secret(auth_method) else None
    client.secret_hash = ids.digest(secret) if secret else None
    try:
        store.clients.create(client)
    except ItemExists:
        # Taken by a client, or a user's sub (SECURITY.md 37: subjects never collide).
        raise UsageError(
            f"client id {client_id!r} already exists (a client's or a user's sub)"
        ) from None
    audit.admin("client.created", client_id=client.client_id)

    data = client_view(client)
    text = f"Created {client_type} client {name!r}.\n{client_text(client)}"
    if secret:
        data["client_secret"] = secret
        text += f"\n\nclient_secret: {secret}\n{SHOWN_ONCE}"
    return Result(data, text)


def client_list(args: argparse.Namespace, store: Store) -> Result:
    clients, after = collect(store.clients.page, args)
    rows = [
        [c.client_id, c.client_type, c.auth_method, " ".join(c.grant_types), c.name]
        for c in clients
    ]
    headers = ["CLIENT_ID", "TYPE", "AUTH_METHOD", "GRANT_TYPES", "NAME"]
    note = next_page_note("tollgate client list", after)
    return Result([client_view(c) for c in clients], table(headers, rows, "No clients."), note)


def client_show(args: argparse.Namespace, store: Store) -> Result:
    client = require_client(store, args.client_id)
    return Result(client_view(client), client_text(client))


def client_delete(args: argparse.Namespace, store: Store) -> Result:
    client = require_client(store, args.client_id)
    store.clients.delete(client.client_id)
    audit.admin("client.deleted", client_id=client.client_id)
    return Result(
        {"deleted": True, "client_id": client.client_id},
        f"Deleted client {client.client_id!r} ({client.name}).",
    )


def client_rotate_secret(args: argparse.Namespace, store: Store) -> Result:
    client = require_client(store, args.client_id)
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
    audit.admin("client.secret_rotated", client_id=client.client_id)
    return Result(
        {"client_id": client.client_id, "client_secret": secret, "old_secret": OLD_SECRET},
        f"New secret for client {client.client_id!r}. {OLD_SECRET}\n\n"
        f"client_secret: {secret}\n{SHOWN_ONCE}",
    )


def client_set_jwks(args: argparse.Namespace, store: Store) -> Result:
    client = require_client(store, args.client_id)
    if client.auth_method != PRIVATE_KEY_JWT:
        raise UsageError(
            f"client {client.client_id!r} uses {client.auth_method}, not private_key_jwt"
        )
    jwks = read_jwks(args)
    if jwks is None:
        raise UsageError("give the new keys with --jwks-file PATH or --jwks JSON")
    client.jwks = jwks
    store.clients.save(client)
    audit.admin(
        "client.jwks_set", client_id=client.client_id, reason=f"keys {registration.kids(client)}"
    )
    return Result(
        client_view(client),
        f"New keys for client {client.client_id!r}: {kids(client)}. {OLD_KEYS}",
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
        help="a registered resource it may ask tokens for, RFC 8707 (repeatable; default: "
        "any registered resource)",
    )
    create.add_argument(
        "--introspect",
        action="store_true",
        help="a resource server: may introspect every token at /introspect (RFC 7662)",
    )
    create.add_argument(
        "--allow-no-pkce",
        action="store_true",
        help="confidential only: PKCE may be left out of OpenID Connect requests with a nonce",
    )
    create.add_argument(
        "--dpop-required",
        action="store_true",
        help="every token request must carry a DPoP proof (RFC 9449 dpop_bound_access_tokens)",
    )
    create.add_argument(
        "--require-par",
        action="store_true",
        help="its authorization requests must be pushed to /par first (RFC 9126)",
    )
    create.add_argument(
        "--profile",
        choices=PROFILES,
        help="fapi2: the FAPI 2.0 Security Profile's rules (PAR, private_key_jwt, ...)",
    )
    create.add_argument(
        "--require-mfa",
        action="store_true",
        help="every sign-in for this client needs a second factor (acr urn:tollgate:mfa)",
    )
    create.add_argument(
        "--scope-policy",
        choices=SCOPE_POLICIES,
        default=STRICT,
        help="asked for scopes it may not have: strict refuses (invalid_scope), subset grants "
        "those it may have (default strict)",
    )
    jwks_options(create)
    create.set_defaults(handler=client_create)

    listing = cmds.add_parser("list", parents=[leaf], help="list clients, by id")
    page_options(listing, "clients")
    listing.set_defaults(handler=client_list)
    for name, handler, text in (
        ("show", client_show, "show a client"),
        ("delete", client_delete, "delete a client"),
        ("rotate-secret", client_rotate_secret, "give a confidential client a new secret"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=text)
        sub.add_argument("client_id", metavar="CLIENT_ID")
        sub.set_defaults(handler=handler)

    client_update.add_command(cmds, leaf)
    sub = cmds.add_parser(
        "set-jwks", parents=[leaf], help="replace a private_key_jwt client's public keys"
    )
    sub.add_argument("client_id", metavar="CLIENT_ID")
    jwks_options(sub)
    sub.set_defaults(handler=client_set_jwks)
