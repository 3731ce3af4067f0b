"""Used DPoP proofs (RFC 9449 11.1, SECURITY.md 45): DPOP#<sha256(jkt, jti)> / DPOP, one
create-only put per proof, kept until the proof's iat leaves the acceptance window (ttl).

The one replay guard of the token endpoint, UserInfo and both authorizers: a conditional
put in the one table is seen by every Lambda container at once. Cost: one PutItem (one write
request unit) per DPoP-verified request; a replay is one failed conditional put (also one
write unit) and, only then, one GetItem to tell our own retried write from a replay.
"""

from __future__ import annotations

from chalicelib.ids import digest, new_id
from chalicelib.stores.table import Item, ItemExists, Table


class DpopProofs:
    def __init__(self, table: Table) -> None:
        self.table = table

    def use(self, jkt: str, jti: str, until: int) -> bool:
        """Record a proof's jti as used, once; False when it was used before.

        The jti is scoped to the key (RFC 9449 11.1): another key's proof cannot spend it.
        A botocore retry of our own committed put finds our `used_by` and is not a replay.
        """
        pk = f"DPOP#{digest(f'{len(jkt)}:{jkt}:{jti}')}"
        consumer = new_id()
        item: Item = {"pk": pk, "sk": "DPOP", "kind": "DpopProofUse", "used_by": consumer}
        item["ttl"] = until
        try:
            self.table.put(item, if_absent=True)
        except ItemExists:
            current = self.table.get(pk, "DPOP")
            return current is not None and current.get("used_by") == consumer
        return True
