"""The signer's own keys as a KeySource, for verifying tokens inside Tollgate's app
(the built-in authorizer, UserInfo): no HTTP round trip to our own /jwks.json."""

from __future__ import annotations

import threading

from chalicelib.authorizer.keys import LocalKeys
from chalicelib.deps import Deps

_lock = threading.Lock()
_current: tuple[Deps, LocalKeys] | None = None


def keys_for(deps: Deps) -> LocalKeys:
    """One LocalKeys per wiring: a container keeps one; tests that swap the wiring get new."""
    global _current
    with _lock:
        if _current is None or _current[0] is not deps:
            _current = (deps, LocalKeys(deps.signer.jwks, clock=deps.clock.now))
        return _current[1]
