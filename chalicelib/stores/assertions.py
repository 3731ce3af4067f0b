"""Used client assertions (private_key_jwt, RFC 7523 3):
JTI#<sha256(client, jti)> / ASSERTION, kept until the assertion expires (ttl)."""

from __future__ import annotations

from chalicelib.ids import digest
from chalicelib.stores.records import AssertionReplayed
from chalicelib.stores.table import Item, ItemExists, Table


class AssertionGuard:
    def __init__(self, table: Table) -> None:
        self.table = table

    def use(self, client_id: str, jti: str, until: int, consumer: str) -> None:
        """Record a client assertion's jti as used, once (one create-only write).

        AssertionReplayed when it was used before, unless by this same `consumer`: then our
        own write committed and only its answer was lost (botocore retried the put).
        """
        # Length-prefixed, so that no other (client_id, jti) pair hashes the same text.
        pk = f"JTI#{digest(f'{len(client_id)}:{client_id}:{jti}')}"
        item: Item = {"pk": pk, "sk": "ASSERTION", "kind": "AssertionUse"}
        item.update({"client_id": client_id, "used_by": consumer, "ttl": until})
        try:
            self.table.put(item, if_absent=True)
        except ItemExists:
            current = self.table.get(pk, "ASSERTION")
            if current is None or current.get("used_by") != consumer:
                raise AssertionReplayed(client_id) from None
