"""`tollgate client update CLIENT_ID`: change a registration in place, same id, same secret.

    --name TEXT
    --redirect-uri URI ... | --add-redirect-uri URI ... --remove-redirect-uri URI ...
    (the same three forms for --post-logout-redirect-uri, --scope, --grant-type, --resource)
    --auth-method METHOD [--jwks-file PATH | --jwks JSON]
    --id-token-alg RS256|ES256      --introspect | --no-introspect
    --dpop-required | --no-dpop-required
    --require-par | --no-require-par  --profile fapi2|none

The changed registration passes the same checks as `client create` (admin/registration.py).
Moving from `none` or private_key_jwt to a secret method prints a new secret, once; moving
to `none` or private_key_jwt deletes the secret's hash; between client_secret_basic and
client_secret_post the secret stays.
"""

from __future__ import annotations

import argparse
import copy
from collections.abc import Callable
from dataclasses import dataclass

from chalicelib.admin import registration, resources
from chalicelib.admin.args import (
    Parser,
    UsageError,
    jwks_options,
    parse_redirect_uris,
    parse_resources,
    parse_scopes,
    parse_text,
    read_jwks,
    unique,
)
from chalicelib.admin.output import Result
from chalicelib.admin.registration import GRANT_TYPES, SHOWN_ONCE, client_text, client_view
from chalicelib.observability import audit
from chalicelib.stores.models import AUTH_METHODS, PROFILES, Client
from chalicelib.stores.repository import Store
from chalicelib.stores.scope_policies import SCOPE_POLICIES


def _grant_types(values: list[str]) -> list[str]:
    return unique(values)


def _scopes(values: list[str]) -> list[str]:
    return parse_scopes(values) if values else []


@dataclass(frozen=True)
class ListField:
    """A list-valued registration field: set with --OPTION, or --add-/--remove- values."""

    option: str  # e.g. "redirect-uri"
    attribute: str  # the Client attribute
    parse: Callable[[list[str]], list[str]]
    metavar: str
    what: str

    @property
    def dest(self) -> str:
        return self.option.replace("-", "_")


LIST_FIELDS = (
    ListField("redirect-uri", "redirect_uris", parse_redirect_uris, "URI", "redirect URIs"),
    ListField(
        "post-logout-redirect-uri",
        "post_logout_redirect_uris",
        parse_redirect_uris,
        "URI",
        "post-logout redirect URIs",
    ),
    ListField("scope", "scopes", _scopes, "SCOPES", "scopes"),
    ListField("grant-type", "grant_types", _grant_types, "GRANT", "grant types"),
    ListField("resource", "resources", parse_resources, "URI", "resources"),
)


def _apply_list(client: Client, field: ListField, args: argparse.Namespace) -> None:
    replace: list[str] | None = getattr(args, field.dest)
    add: list[str] | None = getattr(args, f"add_{field.dest}")
    remove: list[str] | None = getattr(args, f"remove_{field.dest}")
    if replace is not None and (add or remove):
        raise UsageError(
            f"--{field.option} sets the whole list: give it alone, or --add-{field.option} "
            f"and --remove-{field.option}"
        )
    if replace is not None:
        setattr(client, field.attribute, field.parse(replace))
        return
    values: list[str] = list(getattr(client, field.attribute))
    for value in field.parse(remove or []):
        if value not in values:
            raise UsageError(f"{value!r} is not among the client's {field.what}")
        values.remove(value)
    values.extend(v for v in field.parse(add or []) if v not in values)
    setattr(client, field.attribute, values)


_SHOWN_AS = {"secret_hash": "secret"}  # never name the hash: it is not printed either


def client_update(args: argparse.Namespace, store: Store) -> Result:
    before = registration.require_client(store, args.client_id)
    client = copy.deepcopy(before)
    if args.name is not None:
        client.name = parse_text(args.name, "--name")
    for field in LIST_FIELDS:
        _apply_list(client, field, args)
    if args.id_token_alg is not None:
        client.id_token_signed_response_alg = args.id_token_alg
    if args.introspect is not None:
        client.may_introspect = args.introspect
    if args.dpop_required is not None:
        client.dpop_bound_access_tokens = args.dpop_required
    if args.require_par is not None:
        client.require_pushed_authorization_requests = args.require_par
    if args.profile is not None:
        client.profile = "" if args.profile == "none" else args.profile
    if args.require_mfa is not None:
        client.require_mfa = args.require_mfa
    if args.scope_policy is not None:
        client.scope_policy = args.scope_policy
    secret = None
    if args.auth_method is not None:
        secret = registration.set_auth_method(client, args.auth_method)
    jwks = read_jwks(args)
    if jwks is not None:
        if client.auth_method != registration.PRIVATE_KEY_JWT:
            raise UsageError("--jwks and --jwks-file are only for --auth-method private_key_jwt")
        client.jwks = jwks
    registration.check(client)
    resources.require_registered(store, [r for r in client.resources if r not in before.resources])

    changed = [
        _SHOWN_AS.get(name, name)
        for name, value in vars(client).items()
        if getattr(before, name) != value
    ]
    data = {**client_view(client), "changed": changed}
    if not changed:
        return Result(data, f"Client {client.client_id!r} unchanged.")
    store.clients.save(client)
    audit.admin(
        "client.updated", client_id=client.client_id, reason=f"changed {', '.join(changed)}"
    )
    text = f"Updated client {client.client_id!r}: {', '.join(changed)}.\n{client_text(client)}"
    if before.secret_hash is not None and client.secret_hash is None:
        text += "\n\nIts secret was deleted: it no longer authenticates with a secret."
    if secret is not None:
        data["client_secret"] = secret
        text += f"\n\nclient_secret: {secret}\n{SHOWN_ONCE}"
    return Result(data, text)


def add_command(cmds: argparse._SubParsersAction[Parser], leaf: Parser) -> None:
    sub = cmds.add_parser(
        "update", parents=[leaf], help="change a client in place (same id, same secret)"
    )
    sub.add_argument("client_id", metavar="CLIENT_ID")
    sub.add_argument("--name", help="shown to users on the consent page")
    for field in LIST_FIELDS:
        choices = GRANT_TYPES if field.option == "grant-type" else None
        for prefix, verb in (("", "set the"), ("add-", "add to the"), ("remove-", "remove from")):
            sub.add_argument(
                f"--{prefix}{field.option}",
                dest=f"{prefix.replace('-', '_')}{field.dest}",
                action="append",
                choices=choices,
                metavar=field.metavar,
                help=f"{verb} {field.what} (repeatable)",
            )
    sub.add_argument(
        "--auth-method",
        choices=AUTH_METHODS,
        help="token endpoint authentication; none makes it public, any other confidential",
    )
    sub.add_argument("--id-token-alg", choices=["RS256", "ES256"])
    sub.add_argument(
        "--introspect",
        action=argparse.BooleanOptionalAction,
        help="a resource server that may introspect every token (RFC 7662)",
    )
    sub.add_argument(
        "--dpop-required",
        action=argparse.BooleanOptionalAction,
        help="every token request must carry a DPoP proof (RFC 9449 dpop_bound_access_tokens)",
    )
    sub.add_argument(
        "--require-par",
        action=argparse.BooleanOptionalAction,
        help="its authorization requests must be pushed to /par first (RFC 9126)",
    )
    sub.add_argument(
        "--profile",
        choices=[*PROFILES, "none"],
        help="fapi2: FAPI 2.0 rules; none: none",
    )
    sub.add_argument(
        "--require-mfa",
        action=argparse.BooleanOptionalAction,
        help="every sign-in for this client needs a second factor",
    )
    sub.add_argument(
        "--scope-policy",
        choices=SCOPE_POLICIES,
        help="asked for scopes it may not have: strict refuses, subset grants those it may have",
    )
    jwks_options(sub)
    sub.set_defaults(handler=client_update)
