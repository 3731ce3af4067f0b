"""Typed access to the records in the one table: key layout and (de)serialization live here.

Key layout (pk / sk):
    CLIENT#<client_id>         / CLIENT
    USER#<username>            / USER
    SESSION#<sha256(sid)>      / SESSION            ttl
    INTERACTION#<id>           / INTERACTION        ttl
    CODE#<sha256(code)>        / CODE               ttl
    GRANT#<grant_id>           / GRANT
    CONSENT#<sub>              / CLIENT#<client_id>
    KEYS                       / KEY#<kid>          one partition, read with one Query
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from chalicelib.stores.models import (
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    Interaction,
    Session,
    SigningKey,
    User,
)
from chalicelib.stores.table import ConditionFailed, Item, Table

T = TypeVar("T")
_KEY_FIELDS = {"pk", "sk", "ttl", "kind"}


class AlreadyUsed(Exception):
    """A single-use record was consumed before; `record` is what the store holds."""

    def __init__(self, record: AuthorizationCode) -> None:
        super().__init__("already used")
        self.record = record


def _item(record: object, pk: str, sk: str, ttl: int | None = None) -> Item:
    item: Item = {"pk": pk, "sk": sk, "kind": type(record).__name__}
    item.update({k: v for k, v in dataclasses.asdict(record).items() if v is not None})  # type: ignore[call-overload]
    if ttl is not None:
        item["ttl"] = ttl
    return item


_OPTIONAL: dict[type[Any], frozenset[str]] = {}


def _optional_fields(cls: type[Any]) -> frozenset[str]:
    """Fields typed `X | None` that have no default (for example Interaction.state)."""
    if cls not in _OPTIONAL:
        hints = typing.get_type_hints(cls)
        _OPTIONAL[cls] = frozenset(
            f.name
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING
            and f.default_factory is dataclasses.MISSING
            and type(None) in typing.get_args(hints[f.name])
        )
    return _OPTIONAL[cls]


def _record(cls: type[T], item: Item | None) -> T | None:
    if item is None:
        return None
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {k: v for k, v in item.items() if k in names}
    # _item drops None-valued fields, so an optional field without a default reads back absent.
    for name in _optional_fields(cls) - values.keys():
        values[name] = None
    return cls(**values)


class Store:
    def __init__(self, table: Table) -> None:
        self.table = table

    # -- clients ----------------------------------------------------------------------------

    def create_client(self, client: Client) -> None:
        self.table.put(_item(client, f"CLIENT#{client.client_id}", "CLIENT"), if_absent=True)

    def save_client(self, client: Client) -> None:
        self.table.put(_item(client, f"CLIENT#{client.client_id}", "CLIENT"))

    def get_client(self, client_id: str) -> Client | None:
        return _record(Client, self.table.get(f"CLIENT#{client_id}", "CLIENT"))

    def list_clients(self) -> list[Client]:
        return [c for i in self.table.scan_prefix("CLIENT#") if (c := _record(Client, i))]

    def delete_client(self, client_id: str) -> None:
        self.table.delete(f"CLIENT#{client_id}", "CLIENT")

    # -- users ------------------------------------------------------------------------------

    def create_user(self, user: User) -> None:
        self.table.put(_item(user, f"USER#{user.username}", "USER"), if_absent=True)

    def save_user(self, user: User) -> None:
        self.table.put(_item(user, f"USER#{user.username}", "USER"))

    def get_user(self, username: str) -> User | None:
        return _record(User, self.table.get(f"USER#{username}", "USER"))

    def list_users(self) -> list[User]:
        return [u for i in self.table.scan_prefix("USER#") if (u := _record(User, i))]

    # -- sessions ---------------------------------------------------------------------------

    def put_session(self, session: Session) -> None:
        item = _item(session, f"SESSION#{session.sid_hash}", "SESSION", session.expires_at)
        self.table.put(item, if_absent=True)

    def get_session(self, sid_hash: str) -> Session | None:
        return _record(Session, self.table.get(f"SESSION#{sid_hash}", "SESSION"))

    def delete_session(self, sid_hash: str) -> None:
        self.table.delete(f"SESSION#{sid_hash}", "SESSION")

    # -- pending authorizations -------------------------------------------------------------

    def put_interaction(self, interaction: Interaction) -> None:
        item = _item(
            interaction,
            f"INTERACTION#{interaction.interaction_id}",
            "INTERACTION",
            interaction.expires_at,
        )
        self.table.put(item, if_absent=True)

    def get_interaction(self, interaction_id: str) -> Interaction | None:
        item = self.table.get(f"INTERACTION#{interaction_id}", "INTERACTION")
        return _record(Interaction, item)

    def update_interaction(self, interaction_id: str, values: Item) -> Interaction:
        item = self.table.update(f"INTERACTION#{interaction_id}", "INTERACTION", values)
        record = _record(Interaction, item)
        assert record is not None
        return record

    def complete_interaction(self, interaction_id: str, by: str) -> Interaction | None:
        """Mark the interaction finished, once: None when it was finished already or is gone."""
        try:
            item = self.table.claim(
                f"INTERACTION#{interaction_id}", "INTERACTION", "completed_by", by
            )
        except ConditionFailed:
            return None
        return _record(Interaction, item)

    # -- authorization codes ----------------------------------------------------------------

    def put_code(self, code: AuthorizationCode) -> None:
        item = _item(code, f"CODE#{code.code_hash}", "CODE", code.expires_at)
        self.table.put(item, if_absent=True)

    def consume_code(self, code_hash: str, consumer: str) -> AuthorizationCode | None:
        """Claim a code with one conditional write.

        Returns the code, or None when it does not exist or has expired. Raises AlreadyUsed
        when someone else consumed it first. The same `consumer` may claim again (a retried
        write whose first attempt committed is not reuse).
        """
        try:
            item = self.table.claim(f"CODE#{code_hash}", "CODE", "consumed_by", consumer)
        except ConditionFailed as failed:
            previous = _record(AuthorizationCode, failed.item)
            if previous is None:
                return None
            raise AlreadyUsed(previous) from None
        return _record(AuthorizationCode, item)

    # -- grants -----------------------------------------------------------------------------

    def put_grant(self, grant: Grant) -> None:
        self.table.put(_item(grant, f"GRANT#{grant.grant_id}", "GRANT"), if_absent=True)

    def get_grant(self, grant_id: str) -> Grant | None:
        return _record(Grant, self.table.get(f"GRANT#{grant_id}", "GRANT"))

    def revoke_grant(self, grant_id: str, when: int, reason: str) -> None:
        try:
            self.table.update(
                f"GRANT#{grant_id}", "GRANT", {"revoked_at": when, "revoked_reason": reason}
            )
        except ConditionFailed:
            return  # no such grant: nothing to revoke

    # -- consents ---------------------------------------------------------------------------

    def get_consent(self, sub: str, client_id: str) -> Consent | None:
        return _record(Consent, self.table.get(f"CONSENT#{sub}", f"CLIENT#{client_id}"))

    def put_consent(self, consent: Consent) -> None:
        self.table.put(_item(consent, f"CONSENT#{consent.sub}", f"CLIENT#{consent.client_id}"))

    # -- signing keys -----------------------------------------------------------------------

    def put_key(self, key: SigningKey) -> None:
        self.table.put(_item(key, "KEYS", f"KEY#{key.kid}"), if_absent=True)

    def list_keys(self) -> list[SigningKey]:
        return [k for i in self.table.query("KEYS", "KEY#") if (k := _record(SigningKey, i))]
