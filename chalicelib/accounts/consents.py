"""Stored consent: whether a person already allowed a client these scopes."""

from __future__ import annotations

from chalicelib.stores.repository import Store


def covers(store: Store, sub: str, client_id: str, scopes: list[str]) -> bool:
    consent = store.consents.get(sub, client_id)
    return consent is not None and set(scopes) <= set(consent.scopes)
