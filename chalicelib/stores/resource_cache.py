"""The registered resources, cached per Lambda container like client registrations.

All of them are read at once (one Query of one partition) and kept for `ttl` seconds
(TOLLGATE_CLIENT_CACHE_TTL, default 60; 0 reads them for every request). A changed or
deleted resource reaches a warm container within that time. A URI that is not in the cached
copy is looked up again before it is refused, so a new resource works at once; that costs
one Query, as an unknown client id costs one GetItem.
"""

from __future__ import annotations

import threading

from chalicelib.clock import Clock
from chalicelib.stores.models import Resource
from chalicelib.stores.repository import Store


class ResourceCache:
    def __init__(self, store: Store, clock: Clock, ttl: int) -> None:
        self._store = store
        self._clock = clock
        self._ttl = ttl
        self._until = -1
        self._resources: dict[str, Resource] = {}
        self._lock = threading.Lock()

    def all(self) -> dict[str, Resource]:
        """Every registered resource by URI (from the cached copy while it is fresh)."""
        return self._current()[0]

    def find(self, uris: list[str]) -> dict[str, Resource]:
        """Every registered resource by URI; read again from the table when one of `uris`
        is not in a cached copy (it may be new)."""
        known, cached = self._current()
        if cached and any(uri not in known for uri in uris):
            known = self._reload()
        return known

    def _current(self) -> tuple[dict[str, Resource], bool]:
        """The resources, and whether they come from the cached copy."""
        with self._lock:
            if self._until > self._clock.now():
                return self._resources, True
        return self._reload(), False

    def _reload(self) -> dict[str, Resource]:
        resources = {r.uri: r for r in self._store.resources.all()}
        with self._lock:
            self._resources = resources
            self._until = self._clock.now() + self._ttl
        return resources
