"""Wiring: settings, store, signer and clock, built lazily once per container.

Endpoints take a Deps; tests hand in one with in-memory stores and a fake clock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, cast

from chalicelib.clock import Clock, SystemClock
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.client_cache import ClientCache
from chalicelib.stores.repository import Store
from chalicelib.stores.resource_cache import ResourceCache
from chalicelib.tokens.signer import LocalSigner, Signer

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient


@dataclass
class Deps:
    settings: Settings
    store: Store
    signer: Signer
    clock: Clock
    clients: ClientCache = field(init=False, repr=False)
    resources: ResourceCache = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Imported here: documents read settings and counters through this Deps.
        from chalicelib.documents.client_documents import resolver

        ttl = self.settings.client_cache_ttl
        self.clients = ClientCache(self.store, self.clock, ttl, resolver(self))
        self.resources = ResourceCache(self.store, self.clock, ttl)


def build(settings: Settings, clock: Clock | None = None) -> Deps:
    """Production wiring: DynamoDB through the lean client (imported here, on first request)."""
    from chalicelib.stores.dynamodb import DynamoTable
    from chalicelib.stores.dynamodb_http import DynamoHttpClient

    clock = clock or SystemClock()
    client = DynamoHttpClient(settings.region, settings.endpoint_url)
    store = Store(DynamoTable(client, settings.table_name, clock))
    return Deps(settings, store, make_signer(settings, store, clock), clock)


def make_signer(settings: Settings, store: Store, clock: Clock) -> Signer:
    """The stage's signer (TOLLGATE_SIGNER); the lean KMS client is made on its first call."""
    lifetime = settings.max_token_lifetime
    if settings.signer == "local":
        return LocalSigner(store, clock, token_lifetime=lifetime)
    from chalicelib.tokens.kms_client import LazyClient
    from chalicelib.tokens.kms_http import KmsHttpClient

    # It answers the signers' four operations as botocore's client does (typed as that).
    kms = LazyClient(
        lambda: cast("KMSClient", KmsHttpClient(settings.region, settings.endpoint_url))
    )
    if settings.signer == "envelope":
        from chalicelib.tokens.envelope import EnvelopeSigner

        return EnvelopeSigner(store, clock, kms, settings.kms_key_id, token_lifetime=lifetime)
    from chalicelib.tokens.kms_signer import KmsSigner

    return KmsSigner(store, clock, kms, settings.kms_signing_keys, token_lifetime=lifetime)


def in_memory(settings: Settings, clock: Clock | None = None) -> Deps:
    from chalicelib.stores.memory import MemoryTable

    clock = clock or SystemClock()
    store = Store(MemoryTable(clock))
    signer = LocalSigner(store, clock, token_lifetime=settings.max_token_lifetime)
    return Deps(settings, store, signer, clock)


_lock = threading.Lock()
_current: Deps | None = None


def get() -> Deps:
    global _current
    with _lock:
        if _current is None:
            _current = build(load_settings())
        return _current


def override(deps: Deps | None) -> None:
    """Replace the container's wiring (tests), or clear it so the next request rebuilds."""
    global _current
    with _lock:
        _current = deps
