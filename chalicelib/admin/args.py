"""What every command shares on the way in: the parser class, bad input (UsageError, exit
code 2) and the checks that turn command-line text into stored values."""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Iterable
from typing import Any, NoReturn, TypeAlias

DEFAULT_SCOPES = "openid profile email"
MAX_JWKS_TEXT = 64 * 1024

# RFC 6749 appendix A.1: a client_id is visible ASCII. Spaces are refused too: they make
# every later command and log line ambiguous. ":" is allowed (HTTP Basic encodes it).
_CLIENT_ID = re.compile(r"^[\x21-\x7e]{1,255}$")
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class UsageError(Exception):
    """Bad input: reported as `tollgate: <message>`, exit code 2."""


class NotFound(UsageError):
    """The named client, user or grant does not exist: exit code 3, so a script can tell a
    missing thing from a mistyped command."""


# Random ids never start with "-" (chalicelib/ids.py), but one made before that rule may:
# argparse reads it as an option unless it follows "--" (SECURITY.md item 40).
DASH_HINT = "an id that starts with '-' goes after '--', as in: tollgate client show -- -abc"


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        hint = ""
        if "arguments are required" in message or "unrecognized arguments: -" in message:
            hint = f"\n({DASH_HINT})"
        raise UsageError(f"{message}{hint}\n{self.format_usage().rstrip()}")


Groups: TypeAlias = "argparse._SubParsersAction[Parser]"


# -- checks --------------------------------------------------------------------------------


def unique(values: Iterable[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        if value not in out:
            out.append(value)
    return out


def parse_text(value: str, what: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value:
        raise UsageError(f"{what} must not be empty")
    if len(value) > max_length or _CONTROL.search(value):
        raise UsageError(f"{what} must be at most {max_length} characters, without control codes")
    return value


def parse_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise UsageError(f"{value!r} is not an email address")
    return value


def parse_client_id(value: str) -> str:
    if not _CLIENT_ID.fullmatch(value):
        raise UsageError("a client id is 1 to 255 visible ASCII characters, without spaces")
    if value.startswith("-"):
        raise UsageError("a new client id must not start with '-' (it reads as an option)")
    return value


def parse_username(value: str) -> str:
    """The account name as stored: RFC 8265 UsernameCaseMapped, stricter (SECURITY.md 38)."""
    from chalicelib.accounts.usernames import InvalidUsername, canonical

    try:
        return canonical(value)
    except InvalidUsername as exc:
        raise UsageError(f"{value!r} refused: {exc}") from None


def parse_scopes(raw: list[str] | None) -> list[str]:
    from chalicelib.errors import InvalidScope
    from chalicelib.protocol import scope

    scopes: list[str] = []
    for value in raw if raw is not None else [DEFAULT_SCOPES]:
        try:
            scopes.extend(scope.parse(value))
        except InvalidScope as exc:
            raise UsageError(f"bad --scope {value!r}: {exc.detail}") from None
    scopes = unique(scopes)
    if not scopes:
        raise UsageError("a client needs at least one scope")
    return scopes


def parse_redirect_uris(raw: list[str] | None) -> list[str]:
    from chalicelib.protocol.redirect_uri import InvalidRedirectUri, validate_registration

    uris = unique(raw or [])
    for uri in uris:
        try:
            validate_registration(uri)
        except InvalidRedirectUri as exc:
            raise UsageError(f"redirect URI {uri!r} refused: {exc}") from None
    return uris


def parse_resources(values: list[str] | None) -> list[str]:
    from chalicelib.errors import InvalidTarget
    from chalicelib.protocol import resource

    try:
        return resource.parse(values or [])
    except InvalidTarget as exc:
        raise UsageError(f"bad --resource: {exc.description}") from None


def parse_claims(values: list[str]) -> list[tuple[str, Any]]:
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
            out.append((name, parse_text(value, f"--claim {name}")))
    return out


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number")
    return port


# -- keys and passwords --------------------------------------------------------------------


def jwks_options(sub: argparse.ArgumentParser) -> None:
    way = sub.add_mutually_exclusive_group()
    way.add_argument(
        "--jwks-file",
        metavar="PATH",
        help="private_key_jwt: a JSON file (- for stdin) with the client's public JWK Set",
    )
    way.add_argument("--jwks", metavar="JSON", help="private_key_jwt: the public JWK Set itself")


def read_jwks(args: argparse.Namespace) -> dict[str, Any] | None:
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
    if "-----BEGIN" in raw[:200]:
        raise UsageError(
            f"{where} holds a PEM key or certificate; Tollgate needs the client's public keys "
            'as a JWK Set ({"keys": [...]}, RFC 7517): README "A client\'s JWK Set" shows how '
            "to make one from a PEM public key"
        )
    try:
        doc = json.loads(raw)
    except ValueError as exc:
        raise UsageError(f"{where} is not JSON: {exc}") from None
    try:
        return check_jwks(doc)
    except JwksError as exc:
        raise UsageError(f"{where} refused: {exc}") from None


def password_options(sub: argparse.ArgumentParser) -> None:
    way = sub.add_mutually_exclusive_group()
    way.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    way.add_argument("--password", help="the password (visible to other local users: use stdin)")


def read_password(args: argparse.Namespace) -> str:
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


def hash_password(password: str) -> str:
    from chalicelib.accounts.passwords import WeakPassword, hash_password

    try:
        return hash_password(password)
    except WeakPassword as exc:
        raise UsageError(f"password refused: {exc}") from None
