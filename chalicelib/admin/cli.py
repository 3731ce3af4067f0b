"""The `tollgate` admin command line: register clients, manage users, run the local stack.

    tollgate [--stage S] [--table T] [--endpoint-url U] [--region R] [--json] COMMAND ...

    client create|list|show|delete|rotate-secret|set-jwks
    user   create|set-password|set-claims|disable|enable|show|list
    keys   rotate|list                  (chalicelib/admin/keys.py)
    grant  list|revoke                  (chalicelib/admin/grants.py)
    local  run

Exit codes: 0 done, 1 the store could not be reached, 2 bad input (a message on stderr that
starts with "tollgate: "). With --json every command prints one JSON value on stdout.
Password hashes and client secret hashes are never printed; a client secret is printed
once, by the command that creates it.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, NoReturn, TypeAlias

from chalicelib import ids
from chalicelib.clock import SystemClock
from chalicelib.stores.models import AUTH_METHODS, CONFIDENTIAL, PUBLIC, Client, User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists, StoreUnavailable

PROG = "tollgate"
GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
DEFAULT_GRANT_TYPES = ["authorization_code"]
DEFAULT_SCOPES = "openid profile email"
DEFAULT_MOTO_PORT = 5055
DEFAULT_PORT = 8000

# RFC 6749 appendix A.1: a client_id is visible ASCII. Spaces are refused too: they make
# every later command and log line ambiguous. ":" is allowed (HTTP Basic encodes it).
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,255}$")
_USERNAME = re.compile(r"^[^\s\x00-\x1f\x7f]{1,128}$")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
PRIVATE_KEY_JWT = "private_key_jwt"
MAX_JWKS_TEXT = 64 * 1024


class UsageError(Exception):
    """Bad input: reported as `tollgate: <message>`, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().rstrip()}")


@dataclass
class Result:
    """What a command prints: `data` with --json, `text` otherwise."""

    data: Any
    text: str


Handler = Callable[[argparse.Namespace, Store], Result]
_Groups: TypeAlias = "argparse._SubParsersAction[_Parser]"


# -- input checks ---------------------------------------------------------------------------


def _unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def _text(value: str, what: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value:
        raise UsageError(f"{what} must not be empty")
    if len(value) > max_length or _CONTROL.search(value):
        raise UsageError(f"{what} must be at most {max_length} characters, without control codes")
    return value


def _email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise UsageError(f"{value!r} is not an email address")
    return value


def _client_id(value: str) -> str:
    if not _CLIENT_ID.match(value):
        raise UsageError("a client id is 1 to 255 visible ASCII characters, without spaces")
    return value


def _username(value: str) -> str:
    if not _USERNAME.match(value):
        raise UsageError("a username is 1 to 128 characters, without spaces or control codes")
    return value


def _scopes(raw: list[str] | None) -> list[str]:
    from chalicelib.errors import InvalidScope
    from chalicelib.protocol import scope

    scopes: list[str] = []
    for value in raw if raw is not None else [DEFAULT_SCOPES]:
        try:
            scopes.extend(scope.parse(value))
        except InvalidScope as exc:
            raise UsageError(f"bad --scope {value!r}: {exc.detail}") from None
    scopes = _unique(scopes)
    if not scopes:
        raise UsageError("a client needs at least one scope")
    return scopes


def _redirect_uris(raw: list[str] | None) -> list[str]:
    from chalicelib.protocol.redirect_uri import InvalidRedirectUri, validate_registration

    uris = _unique(raw or [])
    for uri in uris:
        try:
            validate_registration(uri)
        except InvalidRedirectUri as exc:
            raise UsageError(f"redirect URI {uri!r} refused: {exc}") from None
    return uris


def _read_jwks(args: argparse.Namespace) -> dict[str, Any] | None:
    """The JWK Set of --jwks-file (- for stdin) or --jwks, checked; None when neither."""
    from chalicelib.protocol.client_assertion import JwksError, check_jwks

    if args.jwks_file is not None:
        where = f"--jwks-file {args.jwks_file}"
        try:
            if args.jwks_file == "-":
                raw: str = sys.stdin.read()
            else:
                with open(args.jwks_file, encoding="utf-8") as file:
                    raw = file.read(MAX_JWKS_TEXT + 1)
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(f"cannot read {where}: {exc}") from None
    elif args.jwks is not None:
        where, raw = "--jwks", args.jwks
    else:
        return None
    if len(raw) > MAX_JWKS_TEXT:
        raise UsageError(f"{where} is larger than {MAX_JWKS_TEXT} bytes")
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{where} is not JSON: {exc}") from None
    try:
        return check_jwks(doc)
    except JwksError as exc:
        raise UsageError(f"{where} refused: {exc}") from None


def _read_password(args: argparse.Namespace) -> str:
    if args.password is not None:
        password: str = args.password
    elif args.password_stdin:
        password = sys.stdin.readline().removesuffix("\n").removesuffix("\r")
        if not password:
            raise UsageError("no password on standard input")
    elif sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            raise UsageError("the passwords do not match")
    else:
        raise UsageError("give the password with --password-stdin (or --password)")
    return password


def _hash_password(password: str) -> str:
    from chalicelib.accounts.passwords import WeakPassword, hash_password

    try:
        return hash_password(password)
    except WeakPassword as exc:
        raise UsageError(f"password refused: {exc}") from None


# -- output ---------------------------------------------------------------------------------


def _when(epoch: int) -> str:
    if not epoch:
        return "-"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


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


def _fields(rows: list[tuple[str, str | list[str]]]) -> str:
    width = max(len(label) for label, _ in rows) + 2
    lines: list[str] = []
    for label, value in rows:
        values = value if isinstance(value, list) else [value]
        for i, one in enumerate(values or ["-"]):
            head = f"{label}:" if i == 0 else ""
            lines.append(f"{head:<{width}}{one}")
    return "\n".join(lines)


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    if not rows:
        return empty
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "\n".join(
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in [headers, *rows]
    )


def _client_text(client: Client) -> str:
    return _fields(
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
            ("created", _when(client.created_at)),
        ]
    )


def _kids(client: Client) -> str:
    if not client.jwks:
        return "-"
    return ", ".join(str(jwk.get("kid")) for jwk in client.jwks.get("keys", []))


def _user_text(user: User) -> str:
    return _fields(
        [
            ("username", user.username),
            ("sub", user.sub),
            ("status", "disabled" if user.disabled else "enabled"),
            ("name", user.name or "-"),
            ("email", user.email or "-"),
            ("created", _when(user.created_at)),
        ]
    )


_SHOWN_ONCE = "The secret is shown only now: Tollgate keeps only its hash. Store it safely."


# -- client commands ------------------------------------------------------------------------


def _require_client(store: Store, client_id: str) -> Client:
    client = store.clients.get(client_id)
    if client is None:
        raise UsageError(f"no client with id {client_id!r}")
    return client


def _resources(values: list[str] | None) -> list[str]:
    from chalicelib.errors import InvalidTarget
    from chalicelib.protocol import resource

    try:
        return resource.parse(values or [])
    except InvalidTarget as exc:
        raise UsageError(f"bad --resource: {exc.description}") from None


def _claims(values: list[str]) -> list[tuple[str, Any]]:
    """NAME=VALUE pairs of OIDC standard claims; `address` takes a JSON object."""
    from chalicelib.protocol.claims import STANDARD

    settable = set(STANDARD) - {"name", "email", "email_verified", "updated_at"}
    out: list[tuple[str, Any]] = []
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or name not in settable:
            raise UsageError(
                f"bad --claim {item!r}: use NAME=VALUE with NAME one of {sorted(settable)}"
            )
        if not value:
            out.append((name, None))
        elif name == "address":
            try:
                parsed = json.loads(value)
            except ValueError:
                raise UsageError("--claim address=... takes a JSON object") from None
            if not isinstance(parsed, dict):
                raise UsageError("--claim address=... takes a JSON object")
            out.append((name, parsed))
        elif name == "phone_number_verified":
            out.append((name, value.lower() in {"yes", "true", "1"}))
        else:
            out.append((name, _text(value, f"--claim {name}")))
    return out


def client_create(args: argparse.Namespace, store: Store) -> Result:
    name = _text(args.name, "--name")
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
    jwks = _read_jwks(args)
    if auth_method == PRIVATE_KEY_JWT and jwks is None:
        raise UsageError(
            "private_key_jwt needs the client's public keys: --jwks-file PATH or --jwks JSON"
        )
    if auth_method != PRIVATE_KEY_JWT and jwks is not None:
        raise UsageError("--jwks and --jwks-file are only for --auth-method private_key_jwt")
    if public and args.introspect:
        raise UsageError("--introspect is only for confidential clients (resource servers)")
    grant_types = _unique(args.grant_type or DEFAULT_GRANT_TYPES)
    if public and "client_credentials" in grant_types:
        raise UsageError("client_credentials is only for confidential clients")
    if "refresh_token" in grant_types and "authorization_code" not in grant_types:
        raise UsageError("refresh_token needs the authorization_code grant type as well")
    redirect_uris = _redirect_uris(args.redirect_uri)
    if "authorization_code" in grant_types and not redirect_uris:
        raise UsageError("the authorization_code grant needs at least one --redirect-uri")
    scopes = _scopes(args.scope)
    client_id = _client_id(args.client_id) if args.client_id is not None else ids.new_id()

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
        post_logout_redirect_uris=_redirect_uris(args.post_logout_redirect_uri),
        resources=_resources(args.resource),
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
    return Result([client_view(c) for c in clients], _table(headers, rows, "No clients."))


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
    jwks = _read_jwks(args)
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


# -- user commands --------------------------------------------------------------------------


def _require_user(store: Store, username: str) -> User:
    user = store.users.get(username)
    if user is None:
        raise UsageError(f"no user named {username!r}")
    return user


def user_create(args: argparse.Namespace, store: Store) -> Result:
    username = _username(args.username)
    name = _text(args.name, "--name") if args.name is not None else None
    email = _email(args.email) if args.email is not None else None
    if store.users.get(username) is not None:  # before the slow hash
        raise UsageError(f"a user named {username!r} already exists")
    user = User(
        username=username,
        sub=ids.new_id(),
        password_hash=_hash_password(_read_password(args)),
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
    user = _require_user(store, args.username)
    user.password_hash = _hash_password(_read_password(args))
    store.users.save(user)
    return Result(
        {"username": user.username, "password_changed": True},
        f"Changed the password of {user.username!r}.",
    )


def _set_disabled(store: Store, username: str, disabled: bool) -> Result:
    user = _require_user(store, username)
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
    user = _require_user(store, args.username)
    if args.name is not None:
        user.name = _text(args.name, "--name") if args.name.strip() else None
    if args.email is not None:
        user.email = _email(args.email) if args.email.strip() else None
    if args.email_verified is not None:
        user.email_verified = args.email_verified == "yes"
    for name, value in _claims(args.claim or []):
        if value is None:
            user.claims.pop(name, None)
        else:
            user.claims[name] = value
    user.updated_at = SystemClock().now()
    store.users.save(user)
    return Result(user_view(user), f"Updated user {user.username!r}.\n{_user_text(user)}")


def user_show(args: argparse.Namespace, store: Store) -> Result:
    user = _require_user(store, args.username)
    return Result(user_view(user), _user_text(user))


def user_list(args: argparse.Namespace, store: Store) -> Result:
    users = store.users.all()
    rows = [
        [u.username, u.sub, "disabled" if u.disabled else "enabled", u.name or "", u.email or ""]
        for u in users
    ]
    headers = ["USERNAME", "SUB", "STATUS", "NAME", "EMAIL"]
    return Result([user_view(u) for u in users], _table(headers, rows, "No users."))


# -- the parser -----------------------------------------------------------------------------


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number")
    return port


def _jwks_options(sub: argparse.ArgumentParser) -> None:
    way = sub.add_mutually_exclusive_group()
    way.add_argument(
        "--jwks-file",
        metavar="PATH",
        help="private_key_jwt: a JSON file (- for stdin) with the client's public JWK Set",
    )
    way.add_argument("--jwks", metavar="JSON", help="private_key_jwt: the public JWK Set itself")


def _password_options(sub: argparse.ArgumentParser) -> None:
    way = sub.add_mutually_exclusive_group()
    way.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    way.add_argument("--password", help="the password (visible to other local users: use stdin)")


def _client_commands(groups: _Groups, leaf: _Parser) -> None:
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
    _jwks_options(create)
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
    _jwks_options(sub)
    sub.set_defaults(handler=client_set_jwks)


def _user_commands(groups: _Groups, leaf: _Parser) -> None:
    user = groups.add_parser("user", help="manage user accounts")
    cmds = user.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub = cmds.add_parser("create", parents=[leaf], help="create a user")
    sub.add_argument("username", metavar="USERNAME")
    _password_options(sub)
    sub.add_argument("--name", help="the name claim")
    sub.add_argument("--email", help="the email claim")
    sub.set_defaults(handler=user_create)

    sub = cmds.add_parser("set-password", parents=[leaf], help="change a user's password")
    sub.add_argument("username", metavar="USERNAME")
    _password_options(sub)
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

    cmds.add_parser("list", parents=[leaf], help="list users").set_defaults(handler=user_list)


def _local_commands(groups: _Groups) -> None:
    local = groups.add_parser("local", help="the local development stack")
    cmds = local.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub = cmds.add_parser("run", help="moto + seeded demo data + chalice local (make run)")
    # String defaults go through `type` too, so a bad PORT or MOTO_PORT is a usage error.
    sub.add_argument(
        "--port",
        type=_port,
        default=os.environ.get("PORT") or str(DEFAULT_PORT),
        help=f"chalice local's port (env PORT; default {DEFAULT_PORT})",
    )
    sub.add_argument(
        "--moto-port",
        type=_port,
        default=os.environ.get("MOTO_PORT") or str(DEFAULT_MOTO_PORT),
        help=f"moto server's port (env MOTO_PORT; default {DEFAULT_MOTO_PORT})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Administer a Tollgate authorization server: clients, users, local stack.",
    )
    parser.add_argument(
        "--stage",
        default=os.environ.get("TOLLGATE_STAGE") or "local",
        help="deployment stage (env TOLLGATE_STAGE; default local)",
    )
    parser.add_argument(
        "--table", help="DynamoDB table (env TOLLGATE_TABLE; default tollgate-<stage>)"
    )
    parser.add_argument(
        "--endpoint-url",
        help="DynamoDB endpoint (env AWS_ENDPOINT_URL; for stage local default "
        "http://127.0.0.1:<MOTO_PORT or 5055>; an empty value means AWS itself)",
    )
    parser.add_argument(
        "--region", help="AWS region (env AWS_REGION or AWS_DEFAULT_REGION; default us-east-1)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")

    # --json is accepted after the subcommand too; SUPPRESS keeps the global value otherwise.
    leaf = _Parser(add_help=False)
    leaf.add_argument("--json", action="store_true", default=argparse.SUPPRESS, help="as JSON")

    groups = parser.add_subparsers(dest="group", required=True, metavar="COMMAND")
    _client_commands(groups, leaf)
    _user_commands(groups, leaf)
    _local_commands(groups)
    from chalicelib.admin.keys import add_commands as keys_commands  # it imports this module

    keys_commands(groups, leaf)
    from chalicelib.admin.grants import add_commands as grant_commands  # it imports this one

    grant_commands(groups, leaf)
    return parser


# -- wiring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    stage: str
    table: str
    region: str
    endpoint_url: str | None


def resolve_target(args: argparse.Namespace) -> Target:
    stage: str = args.stage
    table = args.table or os.environ.get("TOLLGATE_TABLE") or f"tollgate-{stage}"
    region = (
        args.region
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or "us-east-1"
    )
    if args.endpoint_url is not None:
        endpoint: str | None = args.endpoint_url or None
    elif os.environ.get("AWS_ENDPOINT_URL"):
        endpoint = os.environ["AWS_ENDPOINT_URL"]
    elif stage == "local":
        endpoint = f"http://127.0.0.1:{os.environ.get('MOTO_PORT') or DEFAULT_MOTO_PORT}"
    else:
        endpoint = None
    return Target(stage, table, region, endpoint)


def build_store(target: Target) -> Store:
    from chalicelib.stores.dynamodb import DynamoTable, make_client

    if target.stage == "local" and not os.environ.get("AWS_ACCESS_KEY_ID"):
        # moto accepts any credentials; boto3 refuses to sign without some.
        os.environ["AWS_ACCESS_KEY_ID"] = "testing"
        os.environ["AWS_SECRET_ACCESS_KEY"] = "testing"  # noqa: S105 (moto's dummy)
    client = make_client(target.region, target.endpoint_url)
    return Store(DynamoTable(client, target.table, SystemClock()))


def _unavailable(exc: StoreUnavailable, target: Target | None) -> str:
    message = f"tollgate: the store is unavailable ({exc})"
    if target is None:
        return message
    where = f"table {target.table!r}"
    where += f" at {target.endpoint_url}" if target.endpoint_url else f" in {target.region}"
    message += f": {where}"
    if "ResourceNotFound" in str(exc):
        message += " does not exist"
    if target.stage == "local":
        message += "; is the local stack running (make run, or tollgate local run)?"
    return message


def _print(result: Result, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.data, indent=2))
    else:
        print(result.text)


def main(argv: list[str] | None = None, store: Store | None = None) -> int:
    """Run one command; `store` replaces the DynamoDB store (tests). Returns the exit code."""
    target: Target | None = None
    try:
        args = build_parser().parse_args(argv)
        if args.group == "local":
            from chalicelib.admin.local import run

            return run(port=args.port, moto_port=args.moto_port)
        handler: Handler = args.handler
        if store is None:
            target = resolve_target(args)
            store = build_store(target)
        result = handler(args, store)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(_unavailable(exc, target), file=sys.stderr)
        return 1
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        return 130
    _print(result, args.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
