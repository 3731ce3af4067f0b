"""Client registrations cached per Lambda container for a short while.

A warm container then authenticates a client with no DynamoDB read: client_credentials
costs no AWS call at all. The price is staleness: a change to a client (a deleted redirect
URI, a rotated secret or JWKS) reaches a warm container within `ttl` seconds
(TOLLGATE_CLIENT_CACHE_TTL, default 60; 0 turns the cache off). Unknown client ids are not
cached, so probing ids cannot fill the cache, and a new client works at once.

New credentials work at once as well: a client authentication that fails against a cached
copy reads the client again (`reload`) before refusing (endpoints/client_request.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from chalicelib.clock import Clock
from chalicelib.ids import is_client_id
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store

MAX_ENTRIES = 1024


class ClientCache:
    def __init__(
        self,
        store: Store,
        clock: Clock,
        ttl: int,
        resolver: Callable[[str], Client | None] | None = None,
    ) -> None:
        self._store = store
        self._resolver = resolver
        self._clock = clock
        self._ttl = ttl
        self._entries: dict[str, tuple[int, Client]] = {}
        self._lock = threading.Lock()

    def get(self, client_id: str) -> Client | None:
        if not is_client_id(client_id):
            return None  # no such client can exist: never a storage lookup (issue 17 item 6)
        now = self._clock.now()
        with self._lock:
            entry = self._entries.get(client_id)
            if entry is not None and entry[0] > now:
                return entry[1]
        return self.reload(client_id, now)

    def reload(self, client_id: str, now: int | None = None) -> Client | None:
        """The client as the table has it now, replacing (or dropping) the cached copy."""
        now = self._clock.now() if now is None else now
        client = self._store.clients.get(client_id)
        if client is None and self._resolver is not None:
            client = self._resolver(client_id)
        if client is None or self._ttl <= 0:
            with self._lock:
                self._entries.pop(client_id, None)
            return client
        with self._lock:
            if len(self._entries) >= MAX_ENTRIES:
                # Drop the entry that expires first (dicts keep insertion order: the oldest).
                self._entries.pop(next(iter(self._entries)))
            self._entries.pop(client_id, None)
            self._entries[client_id] = (now + self._ttl, client)
        return client

    def is_cached(self, client_id: str) -> bool:
        """Whether `get` would answer from memory now (without reading the table)."""
        with self._lock:
            entry = self._entries.get(client_id)
            return entry is not None and entry[0] > self._clock.now()
