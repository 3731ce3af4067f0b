"""Consents: CONSENT#<sub> / CLIENT#<client_id>."""

from __future__ import annotations

from chalicelib.stores.grants import GrantRepository
from chalicelib.stores.models import Consent
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table


class ConsentRepository:
    def __init__(self, table: Table, grants: GrantRepository) -> None:
        self.table = table
        self._grants = grants

    def get(self, sub: str, client_id: str) -> Consent | None:
        return from_item(Consent, self.table.get(f"CONSENT#{sub}", f"CLIENT#{client_id}"))

    def put(self, consent: Consent) -> None:
        self.table.put(to_item(consent, f"CONSENT#{consent.sub}", f"CLIENT#{consent.client_id}"))

    def list_for(self, sub: str) -> list[Consent]:
        """The subject's consents, one Query of its partition."""
        items = self.table.query(f"CONSENT#{sub}", "CLIENT#")
        return [c for i in items if (c := from_item(Consent, i)) is not None]

    def delete_all(self, sub: str) -> list[str]:
        """Delete every consent of the subject; the client ids whose consent was deleted."""
        consents = self.list_for(sub)
        for consent in consents:
            self.table.delete(f"CONSENT#{sub}", f"CLIENT#{consent.client_id}")
        return [c.client_id for c in consents]

    def revoke(self, sub: str, client_id: str, when: int, reason: str) -> list[str]:
        """End the subject's authorization of the client: revoke each of its active grants
        for that client, then delete the consent. The ids of the grants revoked now.

        Grants go first and the consent last: if a write fails part-way, the consent is
        still there and the admin's retry lists and revokes what is left, so no consent is
        ever gone while an older grant of it lives on. Not atomic against an authorization
        already past its consent check: a grant it creates meanwhile is not revoked.
        """
        revoked: list[str] = []
        for grant in self._grants.list_for(sub):
            if grant.client_id == client_id and grant.active:
                self._grants.revoke(grant.grant_id, when, reason)
                revoked.append(grant.grant_id)
        self.table.delete(f"CONSENT#{sub}", f"CLIENT#{client_id}")
        return revoked
