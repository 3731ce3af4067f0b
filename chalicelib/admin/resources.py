"""`tollgate resource create|list|show|update|delete`: resource servers (RFC 8707).

A resource is an API (or an MCP server) that tokens are issued for: its URI is their `aud`,
its scopes the only ones they carry, its `--token-ttl` their lifetime (never longer than
the stage's TOLLGATE_ACCESS_TOKEN_TTL). Any client may ask for any registered resource,
unless the client's registration lists resources (`client create --resource`): then only
those (chalicelib/protocol/resource.py).
"""

from __future__ import annotations

import argparse
import copy
from typing import Any

from chalicelib.admin.args import Groups, NotFound, Parser, UsageError, parse_text, unique
from chalicelib.admin.output import Result, fields, table, when
from chalicelib.clock import SystemClock
from chalicelib.observability import audit
from chalicelib.stores.models import Resource
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists

MAX_REGISTERED = 100  # one Query reads them all (stores/resources.py)
MIN_TTL, MAX_TTL = 30, 86400  # the bounds of TOLLGATE_ACCESS_TOKEN_TTL


def parse_uri(value: str) -> str:
    """A resource indicator: an absolute URI without a fragment (RFC 8707 2)."""
    from chalicelib.protocol.resource import MAX_REGISTERED_URI, is_resource_uri

    if not is_resource_uri(value):
        raise UsageError(
            f"resource URI {value!r} refused: it must be an absolute URI (scheme and host) "
            f"without a fragment, at most {MAX_REGISTERED_URI} printable ASCII characters"
        )
    return value


def parse_ttl(value: str) -> int:
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not MIN_TTL <= seconds <= MAX_TTL:
        raise argparse.ArgumentTypeError(
            f"--token-ttl takes {MIN_TTL} to {MAX_TTL} seconds, not {value!r}"
        )
    return seconds


def _scopes(raw: list[str]) -> list[str]:
    from chalicelib.errors import InvalidScope
    from chalicelib.protocol import scope

    scopes: list[str] = []
    for value in raw:
        try:
            scopes.extend(scope.parse(value))
        except InvalidScope as exc:
            raise UsageError(f"bad --scope {value!r}: {exc.detail}") from None
    scopes = unique(scopes)
    oidc = [s for s in scopes if s in scope.OIDC_SCOPES]
    if oidc:
        raise UsageError(
            f"{' '.join(oidc)}: OpenID Connect scopes belong to no resource (they are for "
            "ID tokens, refresh tokens and UserInfo)"
        )
    return scopes


def view(resource: Resource) -> dict[str, Any]:
    return {
        "uri": resource.uri,
        "name": resource.name,
        "scopes": list(resource.scopes),
        "token_ttl": resource.token_ttl,
        "created_at": resource.created_at,
    }


def text(resource: Resource) -> str:
    ttl = f"{resource.token_ttl} s" if resource.token_ttl else "the stage's"
    return fields(
        [
            ("uri", resource.uri),
            ("name", resource.name),
            ("scopes", " ".join(resource.scopes) or "-"),
            ("token_ttl", f"{ttl} (never longer than TOLLGATE_ACCESS_TOKEN_TTL)"),
            ("created", when(resource.created_at)),
        ]
    )


def _require(store: Store, uri: str) -> Resource:
    from chalicelib.protocol.resource import is_resource_uri

    found = store.resources.get(uri) if is_resource_uri(uri) else None
    if found is None:
        raise NotFound(f"no resource with URI {uri!r}")
    return found


def require_registered(store: Store, uris: list[str]) -> None:
    """A client's --resource list names registered resources (tokens for nothing else)."""
    missing = [uri for uri in uris if store.resources.get(uri) is None]
    if missing:
        raise UsageError(
            f"no resource {missing[0]!r}: register it first with "
            f"`tollgate resource create --uri {missing[0]} --scope ...`"
        )


def resource_create(args: argparse.Namespace, store: Store) -> Result:
    uri = parse_uri(args.uri)
    scopes = _scopes(args.scope)
    if not scopes:
        raise UsageError("a resource needs at least one --scope")
    if len(store.resources.all()) >= MAX_REGISTERED:
        raise UsageError(f"at most {MAX_REGISTERED} resources can be registered")
    created = Resource(
        uri=uri,
        name=parse_text(args.name if args.name is not None else uri, "--name", 512),
        scopes=scopes,
        token_ttl=args.token_ttl,
        created_at=SystemClock().now(),
    )
    try:
        store.resources.create(created)
    except ItemExists:
        raise UsageError(f"resource {uri!r} already exists (change it with update)") from None
    audit.admin("resource.created", resource=uri, scope=" ".join(scopes))
    return Result(view(created), f"Registered resource {uri!r}.\n{text(created)}")


def resource_list(args: argparse.Namespace, store: Store) -> Result:
    resources = store.resources.all()
    rows = [[r.uri, " ".join(r.scopes), str(r.token_ttl or "-"), r.name] for r in resources]
    headers = ["URI", "SCOPES", "TOKEN_TTL", "NAME"]
    return Result([view(r) for r in resources], table(headers, rows, "No resources."))


def resource_show(args: argparse.Namespace, store: Store) -> Result:
    found = _require(store, args.uri)
    return Result(view(found), text(found))


def resource_update(args: argparse.Namespace, store: Store) -> Result:
    before = _require(store, args.uri)
    changed = copy.deepcopy(before)
    if args.name is not None:
        changed.name = parse_text(args.name, "--name", 512)
    if args.scope is not None and (args.add_scope or args.remove_scope):
        raise UsageError("--scope sets the whole list: give it alone, or --add-/--remove-scope")
    if args.scope is not None:
        changed.scopes = _scopes(args.scope)
    for value in _scopes(args.remove_scope or []):
        if value not in changed.scopes:
            raise UsageError(f"{value!r} is not among the resource's scopes")
        changed.scopes.remove(value)
    changed.scopes.extend(s for s in _scopes(args.add_scope or []) if s not in changed.scopes)
    if not changed.scopes:
        raise UsageError("a resource needs at least one scope")
    if args.token_ttl is not None:
        changed.token_ttl = args.token_ttl
    if args.stage_ttl:
        changed.token_ttl = None
    names = [name for name, value in vars(changed).items() if getattr(before, name) != value]
    data = {**view(changed), "changed": names}
    if not names:
        return Result(data, f"Resource {changed.uri!r} unchanged.")
    store.resources.save(changed)
    audit.admin("resource.updated", resource=changed.uri, reason=f"changed {', '.join(names)}")
    return Result(data, f"Updated resource {changed.uri!r}: {', '.join(names)}.\n{text(changed)}")


def resource_delete(args: argparse.Namespace, store: Store) -> Result:
    found = _require(store, args.uri)
    store.resources.delete(found.uri)
    audit.admin("resource.deleted", resource=found.uri)
    return Result(
        {"deleted": True, "uri": found.uri},
        f"Deleted resource {found.uri!r}: no token is issued for it from now on (tokens "
        "already issued stay valid until they expire).",
    )


def add_commands(groups: Groups, leaf: Parser) -> None:
    group = groups.add_parser("resource", help="register resource servers (APIs, MCP servers)")
    cmds = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    create = cmds.add_parser("create", parents=[leaf], help="register a resource server")
    create.add_argument("--uri", required=True, help="its resource indicator: the tokens' aud")
    create.add_argument(
        "--scope",
        action="append",
        required=True,
        metavar="SCOPES",
        help="scopes it defines, space-separated (repeatable)",
    )
    create.add_argument(
        "--token-ttl",
        type=parse_ttl,
        metavar="SECONDS",
        help="its access tokens' lifetime (default and most: TOLLGATE_ACCESS_TOKEN_TTL)",
    )
    create.add_argument("--name", help="a name for people (default: the URI)")
    create.set_defaults(handler=resource_create)

    listing = cmds.add_parser("list", parents=[leaf], help="list resources, by URI")
    listing.set_defaults(handler=resource_list)
    for name, handler, help_text in (
        ("show", resource_show, "show a resource"),
        ("delete", resource_delete, "delete a resource: no more tokens for it"),
    ):
        sub = cmds.add_parser(name, parents=[leaf], help=help_text)
        sub.add_argument("uri", metavar="URI")
        sub.set_defaults(handler=handler)

    update = cmds.add_parser("update", parents=[leaf], help="change a resource in place")
    update.add_argument("uri", metavar="URI")
    update.add_argument("--name")
    for prefix, verb in (("", "set the"), ("add-", "add to the"), ("remove-", "remove from")):
        update.add_argument(
            f"--{prefix}scope",
            dest=f"{prefix.replace('-', '_')}scope",
            action="append",
            metavar="SCOPES",
            help=f"{verb} scopes (repeatable)",
        )
    ttl = update.add_mutually_exclusive_group()
    ttl.add_argument("--token-ttl", type=parse_ttl, metavar="SECONDS")
    ttl.add_argument(
        "--stage-ttl", action="store_true", help="its tokens live TOLLGATE_ACCESS_TOKEN_TTL"
    )
    update.set_defaults(handler=resource_update)
