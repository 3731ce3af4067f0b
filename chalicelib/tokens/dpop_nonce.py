"""DPoP server nonces (RFC 9449 8), stateless: a nonce is an HMAC of a time slot.

nonce(slot) = base64url(HMAC-SHA256(key, "tollgate dpop nonce" || slot as 8 bytes)), the
slot being the current time divided by STEP. Issued: the current slot's nonce; accepted:
the current and the previous SLOTS_ACCEPTED - 1 slots', so a nonce stays good for at least
(SLOTS_ACCEPTED - 1) * STEP seconds and then rotates away by itself. Nothing is stored and
every container computes the same nonces. The key is the deployment's existing random key
(store.limits.device_key: 32 bytes made once in the table), so there is no new secret to
configure; deleting it rotates every nonce (and every device cookie) at once.
"""

from __future__ import annotations

import hashlib
import hmac

from chalicelib.tokens.dpop import b64url

STEP = 60
SLOTS_ACCEPTED = 3
_LABEL = b"tollgate dpop nonce"


class Nonces:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _at(self, slot: int) -> str:
        return b64url(
            hmac.new(self._key, _LABEL + slot.to_bytes(8, "big"), hashlib.sha256).digest()
        )

    def current(self, now: int) -> str:
        return self._at(now // STEP)

    def accepts(self, nonce: str | None, now: int) -> bool:
        if nonce is None or len(nonce) != 43:
            return False
        slot = now // STEP
        found = False
        for back in range(SLOTS_ACCEPTED):  # every slot compared, in constant time
            found |= hmac.compare_digest(
                nonce.encode("ascii", "replace"), self._at(slot - back).encode()
            )
        return found
