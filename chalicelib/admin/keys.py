"""`tollgate keys rotate|list`: signing key rotation and the state of every key.

    tollgate [--stage S] keys rotate [--alg ES256|RS256] [--signer MODE] [--kms-key-id ID]
                                     [--force]
    tollgate [--stage S] keys list [--token-lifetime SECONDS]

The signer mode is the one the table's keys were made in (or --signer, or TOLLGATE_SIGNER).
envelope: a key pair is generated here and encrypted under the KMS key that sealed the
current keys (or --kms-key-id / TOLLGATE_KMS_KEY_ID). kms: a new KMS signing key is created
with the key policy of the key it replaces (or --kms-key-id names an existing one).
Private keys and their ciphertexts are never printed.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.admin.args import Groups, Parser, UsageError
from chalicelib.admin.output import Result, table, when
from chalicelib.admin.target import resolve_target
from chalicelib.clock import Clock, SystemClock
from chalicelib.observability import audit
from chalicelib.settings import SIGNERS
from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ConditionFailed
from chalicelib.tokens.keys import SUPPORTED_ALGS
from chalicelib.tokens.signer import (
    EXPIRED,
    KEY_CACHE_TTL,
    MAX_TOKEN_LIFETIME,
    SignerError,
    publish_window,
    status,
)

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

clock: Clock = SystemClock()  # tests replace it to step through a rotation


def key_mode(key: SigningKey) -> str:
    """The signer mode a key record was made in."""
    if key.private_ciphertext:
        return "envelope"
    if key.kms_key_id:
        return "kms"
    return "local"


def key_view(key: SigningKey, now: int, window: int) -> dict[str, Any]:
    """A key as shown to an admin: named fields only, so no private material can slip out."""
    state = status(key, now, window)
    published_until = (key.retired_at or 0) + window if key.state == "retired" else None
    return {
        "kid": key.kid,
        "alg": key.alg,
        "state": state,
        "published": state != EXPIRED,
        "mode": key_mode(key),
        "kms_key_id": key.kms_key_id,
        "created_at": key.created_at,
        "activated_at": key.activated_at,
        "retired_at": key.retired_at,
        "published_until": published_until,
    }


def _token_lifetime(args: argparse.Namespace) -> int:
    if args.token_lifetime is not None:
        lifetime: int = args.token_lifetime
        return lifetime
    raw = os.environ.get("TOLLGATE_ACCESS_TOKEN_TTL")
    return int(raw) if raw and raw.isdigit() else MAX_TOKEN_LIFETIME


def keys_list(args: argparse.Namespace, store: Store) -> Result:
    now = clock.now()
    window = publish_window(_token_lifetime(args), KEY_CACHE_TTL)
    order = {"next": 0, "active": 1, "retired": 2, EXPIRED: 3}
    views = sorted(
        (key_view(k, now, window) for k in store.keys.all()),
        key=lambda v: (v["alg"], order.get(v["state"], 4), -v["created_at"]),
    )
    rows = [
        [
            v["kid"],
            v["alg"],
            v["state"],
            v["mode"],
            when(v["created_at"]),
            when(v["activated_at"] or 0),
            when(v["published_until"]) if v["published_until"] else "-",
        ]
        for v in views
    ]
    headers = ["KID", "ALG", "STATE", "MODE", "CREATED", "ACTIVATED", "PUBLISHED_UNTIL"]
    empty = "No signing keys yet: the first token or JWKS request makes them (or keys rotate)."
    return Result(views, table(headers, rows, empty))


# -- rotate ---------------------------------------------------------------------------------


def _mode(args: argparse.Namespace, existing: list[SigningKey], stage: str) -> str:
    if args.signer:
        mode: str = args.signer
        return mode
    modes = {key_mode(k) for k in existing if k.state in {"next", "active"}}
    if len(modes) == 1:
        return modes.pop()
    if len(modes) > 1:
        raise UsageError(
            f"the keys were made in several modes ({', '.join(sorted(modes))}): "
            "say which with --signer"
        )
    from_env = os.environ.get("TOLLGATE_SIGNER")
    if from_env in SIGNERS:
        return from_env
    if stage == "local":
        return "local"
    raise UsageError("no keys yet to tell the signer mode from: give --signer envelope|kms")


def _kms_client(args: argparse.Namespace) -> KMSClient:
    from chalicelib.tokens.kms_client import make_client

    target = resolve_target(args)
    return make_client(target.region, target.endpoint_url)


def _envelope_key_id(args: argparse.Namespace, existing: list[SigningKey]) -> str:
    if args.kms_key_id:
        key_id: str = args.kms_key_id
        return key_id
    if os.environ.get("TOLLGATE_KMS_KEY_ID"):
        return os.environ["TOLLGATE_KMS_KEY_ID"]
    sealed = sorted(
        (k for k in existing if k.private_ciphertext and k.kms_key_id), key=lambda k: k.created_at
    )
    if not sealed or sealed[-1].kms_key_id is None:
        raise UsageError("which KMS key seals the new key? give --kms-key-id")
    return sealed[-1].kms_key_id


def _maker(
    args: argparse.Namespace, mode: str, alg: str, existing: list[SigningKey], now: int
) -> Callable[[str], SigningKey]:
    if mode == "local":
        from chalicelib.tokens import keys

        return lambda state: keys.generate(alg, now, state=state)
    if mode == "envelope":
        from chalicelib.tokens import envelope

        key_id = _envelope_key_id(args, existing)
        return lambda state: envelope.generate(alg, now, _kms_client(args), key_id, state)
    from chalicelib.tokens import kms_signer

    def kms_key(state: str) -> SigningKey:
        kms = _kms_client(args)
        key_id = args.kms_key_id
        if not key_id:
            current = [k for k in existing if k.alg == alg and k.state == "active"]
            like = max(current, key=lambda k: k.created_at).kms_key_id if current else None
            if like is None:
                raise UsageError(
                    f"no active {alg} KMS key to copy the key policy from: give --kms-key-id"
                )
            key_id = kms_signer.create_key(
                kms, alg, like=like, description=f"Tollgate {args.stage} {alg} signing key"
            )
        return kms_signer.register(kms, key_id, alg, now, state)

    return kms_key


def keys_rotate(args: argparse.Namespace, store: Store) -> Result:
    from chalicelib.tokens.rotation import RotationRefused, rotate

    now = clock.now()
    existing = store.keys.all()
    mode = _mode(args, existing, args.stage)
    if mode == "local" and args.stage == "prod":
        raise UsageError("local keys are kept in the clear: not for prod")
    algs = [args.alg] if args.alg else list(SUPPORTED_ALGS)
    if args.kms_key_id and len(algs) > 1:
        raise UsageError("--kms-key-id names one key: give --alg too")
    done: list[dict[str, Any]] = []
    lines: list[str] = []
    for alg in algs:
        try:
            step = rotate(store, alg, now, _maker(args, mode, alg, existing, now), force=args.force)
        except RotationRefused as exc:
            raise UsageError(str(exc)) from None
        except ConditionFailed:
            raise UsageError(f"the {alg} keys changed meanwhile: run keys list and retry") from None
        except SignerError as exc:
            raise UsageError(str(exc)) from None
        audit.keys_rotated(step.step, alg, step.key.kid, [k.kid for k in step.retired])
        window = publish_window(MAX_TOKEN_LIFETIME)
        done.append(
            {
                "alg": alg,
                "step": step.step,
                "key": key_view(step.key, now, window),
                "retired": [k.kid for k in step.retired],
            }
        )
        lines.append(_rotation_text(step.step, alg, step.key.kid, [k.kid for k in step.retired]))
    return Result({"mode": mode, "rotations": done}, "\n".join(lines))


def _rotation_text(step: str, alg: str, kid: str, retired: list[str]) -> str:
    if step == "published":
        return (
            f"{alg}: published the next key {kid}; it signs after the next rotation "
            "(run keys rotate again in 10 minutes or later)."
        )
    if step == "first":
        return f"{alg}: made the first key {kid}; it signs now."
    gone = ", ".join(retired) or "none"
    return f"{alg}: {kid} signs now; retired {gone} (published until their tokens expire)."


# -- the parser -----------------------------------------------------------------------------


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number of seconds") from None
    if number < 0:
        raise argparse.ArgumentTypeError("a lifetime cannot be negative")
    return number


def add_commands(groups: Groups, leaf: Parser) -> None:
    group = groups.add_parser("keys", help="rotate and list token signing keys")
    cmds = group.add_subparsers(dest="command", required=True, metavar="COMMAND")

    rotate = cmds.add_parser(
        "rotate",
        parents=[leaf],
        help="publish the next signing key, or (run again later) make it sign",
    )
    rotate.add_argument("--alg", choices=SUPPORTED_ALGS, help="one algorithm (default: both)")
    rotate.add_argument(
        "--signer", choices=SIGNERS, help="signer mode (default: the mode of the current keys)"
    )
    rotate.add_argument(
        "--kms-key-id",
        help="envelope: the KMS key that seals the new key; kms: an existing KMS signing key",
    )
    rotate.add_argument(
        "--force",
        action="store_true",
        help="activate a next key even if verifiers may not have fetched it yet",
    )
    rotate.set_defaults(handler=keys_rotate)

    listing = cmds.add_parser("list", parents=[leaf], help="list keys and their states")
    listing.add_argument(
        "--token-lifetime",
        type=_positive,
        metavar="SECONDS",
        help="the stage's longest token lifetime (env TOLLGATE_ACCESS_TOKEN_TTL; default "
        f"{MAX_TOKEN_LIFETIME}): how long a retired key stays published",
    )
    listing.set_defaults(handler=keys_list)
