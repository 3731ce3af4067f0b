"""Signers: where private keys live and how a JWS gets its signature.

`local` (development): keys are generated into the table on first use and kept in the
clear there. The envelope and KMS signers of production share this interface.
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any, Protocol

from chalicelib.clock import Clock
from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists
from chalicelib.tokens import keys

PUBLISHED_STATES = ("next", "active", "retired")


class Signer(Protocol):
    def sign(self, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        """A compact JWS of the claims with the active key of `alg`."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The public keys to publish: every key that may have signed a live token."""
        ...


class LocalSigner:
    """Keys in the store in the clear; loaded once per container and re-read after `ttl`."""

    def __init__(self, store: Store, clock: Clock, ttl: int = 300) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._keys: list[SigningKey] = []
        self._loaded_at: int | None = None
        self._private: dict[str, Any] = {}
        self._lock = threading.Lock()

    def _current(self) -> list[SigningKey]:
        now = self._clock.now()
        if self._loaded_at is None or now - self._loaded_at >= self._ttl:
            self._keys = self._store.list_keys()
            self._loaded_at = now
        return self._keys

    def _active(self, alg: str) -> SigningKey:
        with self._lock:
            candidates = [k for k in self._current() if k.alg == alg and k.state == "active"]
            if not candidates:
                key = keys.generate(alg, self._clock.now())
                with contextlib.suppress(ItemExists):
                    self._store.put_key(key)
                # Another container may have made one at the same time: both are published
                # and valid, and from now on everyone signs with the newest.
                self._keys = self._store.list_keys()
                self._loaded_at = self._clock.now()
                candidates = [k for k in self._keys if k.alg == alg and k.state == "active"]
            return max(candidates, key=lambda k: (k.created_at, k.kid))

    def _private_key(self, key: SigningKey) -> Any:
        loaded = self._private.get(key.kid)
        if loaded is None:
            from cryptography.hazmat.primitives.serialization import load_pem_private_key

            loaded = load_pem_private_key(key.private_pem.encode("ascii"), password=None)
            self._private[key.kid] = loaded
        return loaded

    def sign(self, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        import jwt

        key = self._active(alg)
        headers = {"kid": key.kid, "typ": typ}
        return jwt.encode(claims, self._private_key(key), algorithm=alg, headers=headers)

    def jwks(self) -> dict[str, Any]:
        with self._lock:
            published = [k for k in self._current() if k.state in PUBLISHED_STATES]
        missing = [
            alg
            for alg in keys.SUPPORTED_ALGS
            if not any(k.alg == alg and k.state == "active" for k in published)
        ]
        if missing:
            # First use: make the keys a verifier may meet (ES256 access, RS256 ID tokens).
            for alg in missing:
                self._active(alg)
            with self._lock:
                published = [k for k in self._current() if k.state in PUBLISHED_STATES]
        return {"keys": [dict(k.public_jwk) for k in sorted(published, key=lambda k: k.kid)]}
