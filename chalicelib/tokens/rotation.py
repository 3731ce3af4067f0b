"""Signing key rotation: next -> active -> retired (RFC 7517 key sets, RFC 8725 3.1).

One rotation step per call, for one algorithm:

1. No `next` key: a new key is made and stored as `next`. It is published in the JWKS at
   once and signs nothing yet, so verifiers can learn it before they meet it. (A table with
   no active key at all gets an active key directly: nobody can hold a token yet.)
2. A `next` key exists: it becomes `active` and every other active key of the algorithm
   becomes `retired`, in one transaction. Refused while the next key is younger than
   MIN_NEXT_AGE, the time every cached copy of the JWKS needs to pick it up.

A retired key stays published until every token it signed has expired (signer.status).
How a new key is made depends on the signer mode; the caller passes that in.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.tokens.signer import ACTIVE, MIN_NEXT_AGE, NEXT, RETIRED

# Makes a new key of the algorithm being rotated, in the given state (not yet stored).
KeyMaker = Callable[[str], SigningKey]


class RotationRefused(Exception):
    """The step would break verifiers (the next key is too new to sign)."""


@dataclass(frozen=True)
class Rotation:
    alg: str
    step: str  # "published" (a new next key) | "activated" (next -> active) | "first"
    key: SigningKey
    retired: list[SigningKey] = field(default_factory=list)


def rotate(
    store: Store,
    alg: str,
    now: int,
    make_key: KeyMaker,
    *,
    force: bool = False,
    min_next_age: int = MIN_NEXT_AGE,
) -> Rotation:
    current = [k for k in store.keys.all() if k.alg == alg]
    waiting = sorted((k for k in current if k.state == NEXT), key=lambda k: k.created_at)
    active = [k for k in current if k.state == ACTIVE]
    if not waiting:
        key = make_key(NEXT if active else ACTIVE)
        store.keys.put(key)
        return Rotation(alg, "published" if active else "first", key)
    promoted = waiting[-1]
    age = now - promoted.created_at
    if age < min_next_age and not force:
        raise RotationRefused(
            f"the next {alg} key {promoted.kid} was published {age} s ago; verifiers may not "
            f"have it yet: rotate again in {min_next_age - age} s (or force it)"
        )
    # Older `next` keys (left by an interrupted rotation) are retired with the active ones.
    retiring = active + waiting[:-1]
    store.keys.set_states([(promoted, ACTIVE)] + [(k, RETIRED) for k in retiring], now)
    return Rotation(alg, "activated", promoted, retiring)
