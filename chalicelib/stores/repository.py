"""Typed access to the records in the one table: key layout and (de)serialization live here.

Key layout (pk / sk):
    CLIENT#<client_id>         / CLIENT
    USER#<username>            / USER
    SUB#<sub>                  / SUB                the username of a subject (UserInfo)
    SESSION#<sha256(sid)>      / SESSION            ttl
    INTERACTION#<id>           / INTERACTION        ttl
    CODE#<sha256(code)>        / CODE               ttl
    RT#<sha256(token)>         / RT                 ttl
    GRANT#<grant_id>           / GRANT
    GRANTS#<sub>               / GRANT#<created_at>#<grant_id>   index: a user's grants, one Query
    JTI#<jti>                  / REVOKED            a revoked access token (RFC 7009), ttl
    CONSENT#<sub>              / CLIENT#<client_id>
    KEYS                       / KEY#<kid>          one partition, read with one Query
    NOTES#<sub>                / NOTE#<created_at>#<id>   the demo API's notes, one Query per user
    JTI#<sha256(client, jti)>  / ASSERTION          a used client assertion (RFC 7523 3), ttl
    RATE#<scope>#<sha256(key)> / W#<window start>   failure counter of one window, ttl
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, TypeVar

from chalicelib.ids import digest
from chalicelib.stores.models import (
    AuthorizationCode,
    Client,
    Consent,
    Grant,
    Interaction,
    RefreshToken,
    Session,
    SigningKey,
    User,
)
from chalicelib.stores.table import (
    Claim,
    ConditionFailed,
    Item,
    ItemExists,
    Put,
    Table,
    TransactionCanceled,
    Update,
)

T = TypeVar("T")
_KEY_FIELDS = {"pk", "sk", "ttl", "kind"}


class AlreadyUsed(Exception):
    """A single-use record was consumed before; `record` is what the store holds."""

    def __init__(self, record: AuthorizationCode) -> None:
        super().__init__("already used")
        self.record = record


class AssertionReplayed(Exception):
    """A client assertion's jti was used before (RFC 7523 3, SECURITY.md 19)."""


class Gone(Exception):
    """The record expired or disappeared between reading and writing it."""


class RefreshAlreadyUsed(Exception):
    """A refresh token was rotated by another request; `record` is its current state."""

    def __init__(self, record: RefreshToken) -> None:
        super().__init__("refresh token already used")
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


@dataclasses.dataclass
class Note:
    """A note of the demo API (chalicelib/endpoints/demo_api.py), owned by one subject."""

    note_id: str
    sub: str
    text: str
    created_at: int


def _grant_index_sk(grant: Grant) -> str:
    return f"GRANT#{grant.created_at:012d}#{grant.grant_id}"  # sorts by time


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
        """The user and its `sub` -> username pointer, together; ItemExists if either exists."""
        pointer = {"pk": f"SUB#{user.sub}", "sk": "SUB", "kind": "SubPointer"}
        pointer["username"] = user.username
        try:
            self.table.transact(
                [
                    Put(_item(user, f"USER#{user.username}", "USER"), if_absent=True),
                    Put(pointer, if_absent=True),
                ]
            )
        except TransactionCanceled:
            raise ItemExists(f"user {user.username!r} or its sub exists") from None

    def get_user_by_sub(self, sub: str) -> User | None:
        pointer = self.table.get(f"SUB#{sub}", "SUB")
        if pointer is None:
            return None
        user = self.get_user(str(pointer["username"]))
        return user if user is not None and user.sub == sub else None

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

    def get_code(self, code_hash: str) -> AuthorizationCode | None:
        return _record(AuthorizationCode, self.table.get(f"CODE#{code_hash}", "CODE"))

    def redeem_code(
        self, code: AuthorizationCode, consumer: str, refresh: RefreshToken | None
    ) -> None:
        """Consume the code and store its refresh token in one transaction.

        AlreadyUsed when another request consumed it first; Gone when it expired meanwhile.
        """
        claim = Claim(f"CODE#{code.code_hash}", "CODE", "consumed_by", consumer)
        writes: list[Claim | Put] = [claim]
        if refresh is not None:
            # No create-only condition: the key is a fresh 256-bit hash, and a retry of our
            # own committed transaction must be able to write the very same item again.
            writes.append(Put(self._refresh_item(refresh)))
        try:
            self.table.transact(list(writes))
        except TransactionCanceled as canceled:
            if 0 not in canceled.failed:
                raise  # a fresh random hash collided: practically impossible, never ignored
            current = _record(AuthorizationCode, canceled.failed[0])
            if current is None:
                raise Gone from None
            raise AlreadyUsed(current) from None

    # -- refresh tokens ---------------------------------------------------------------------

    @staticmethod
    def _refresh_item(token: RefreshToken) -> Item:
        return _item(token, f"RT#{token.token_hash}", "RT", token.expires_at)

    def put_refresh(self, token: RefreshToken) -> None:
        self.table.put(self._refresh_item(token))

    def get_refresh(self, token_hash: str) -> RefreshToken | None:
        return _record(RefreshToken, self.table.get(f"RT#{token_hash}", "RT"))

    def rotate_refresh(self, old: RefreshToken, consumer: str, now: int, new: RefreshToken) -> None:
        """Consume `old` and store its successor `new`, atomically.

        RefreshAlreadyUsed (with the current record) when another request consumed it
        first; Gone when it expired meanwhile.
        """
        claim = Claim(
            f"RT#{old.token_hash}",
            "RT",
            "consumed_by",
            consumer,
            {"consumed_at": now, "successor_hash": new.token_hash},
        )
        self._rotate([claim, Put(self._refresh_item(new))])

    def supersede_refresh(
        self, old: RefreshToken, consumer: str, now: int, new: RefreshToken
    ) -> None:
        """Within the grace window: replace old's unused successor with `new`.

        The lost successor is marked consumed so it can never be used; RefreshAlreadyUsed
        (with the successor's record) when the successor was used after all.
        """
        assert old.successor_hash is not None
        writes: list[Claim | Put | Update] = [
            Update(
                f"RT#{old.token_hash}",
                "RT",
                {"successor_hash": new.token_hash},
                expect={"successor_hash": old.successor_hash},
            ),
            Claim(
                f"RT#{old.successor_hash}",
                "RT",
                "consumed_by",
                f"superseded:{consumer}",  # grants.refresh_token.SUPERSEDED
                {"consumed_at": now, "successor_hash": new.token_hash},
            ),
            Put(self._refresh_item(new)),
        ]
        self._rotate(list(writes))

    def _rotate(self, writes: list[Claim | Put | Update]) -> None:
        try:
            self.table.transact(list(writes))
        except TransactionCanceled as canceled:
            for index in sorted(canceled.failed):
                if isinstance(writes[index], Put):
                    continue
                current = _record(RefreshToken, canceled.failed[index])
                if current is None:
                    raise Gone from None
                raise RefreshAlreadyUsed(current) from None
            raise

    # -- grants -----------------------------------------------------------------------------

    def put_grant(self, grant: Grant) -> None:
        """The grant and its index item in the user's partition, in one create-only
        transaction; ItemExists if either exists."""
        index: Item = {"pk": f"GRANTS#{grant.sub}", "sk": _grant_index_sk(grant)}
        index.update(
            kind="GrantIndex",
            grant_id=grant.grant_id,
            client_id=grant.client_id,
            scopes=list(grant.scopes),
            created_at=grant.created_at,
        )
        try:
            self.table.transact(
                [
                    Put(_item(grant, f"GRANT#{grant.grant_id}", "GRANT"), if_absent=True),
                    Put(index, if_absent=True),
                ]
            )
        except TransactionCanceled:
            raise ItemExists(f"grant {grant.grant_id!r} exists") from None

    def list_grants(self, sub: str) -> list[Grant]:
        """The subject's grants, oldest first, revoked ones included (admin only): one Query
        of the index, then one BatchGetItem per 100 grants for their current state."""
        index = self.table.query(f"GRANTS#{sub}", "GRANT#")
        keys = [(f"GRANT#{i['grant_id']}", "GRANT") for i in index]
        items = self.table.get_many(keys) if keys else []
        return [g for i in items if (g := _record(Grant, i)) is not None and g.sub == sub]

    def get_grant(self, grant_id: str) -> Grant | None:
        return _record(Grant, self.table.get(f"GRANT#{grant_id}", "GRANT"))

    def revoke_grant(self, grant_id: str, when: int, reason: str) -> None:
        try:
            self.table.update(
                f"GRANT#{grant_id}", "GRANT", {"revoked_at": when, "revoked_reason": reason}
            )
        except ConditionFailed:
            return  # no such grant: nothing to revoke

    # -- revoked access tokens (RFC 7009) ---------------------------------------------------

    def revoke_jti(self, jti: str, expires_at: int) -> None:
        """Record the access token `jti` as revoked until `expires_at`, by when no validator
        accepts it anyway. Idempotent; StoreUnavailable when it could not be recorded."""
        item: Item = {"pk": f"JTI#{jti}", "sk": "REVOKED", "kind": "RevokedToken"}
        item["ttl"] = expires_at
        self.table.put(item)

    def is_jti_revoked(self, jti: str) -> bool:
        """Whether the access token `jti` was revoked (one GetItem)."""
        return self.table.get(f"JTI#{jti}", "REVOKED") is not None

    # -- consents ---------------------------------------------------------------------------

    def get_consent(self, sub: str, client_id: str) -> Consent | None:
        return _record(Consent, self.table.get(f"CONSENT#{sub}", f"CLIENT#{client_id}"))

    def put_consent(self, consent: Consent) -> None:
        self.table.put(_item(consent, f"CONSENT#{consent.sub}", f"CLIENT#{consent.client_id}"))

    def revoke_consent(self, sub: str, client_id: str, when: int, reason: str) -> list[str]:
        """End the subject's authorization of the client: revoke each of its active grants
        for that client, then delete the consent. The ids of the grants revoked now.

        Grants go first and the consent last: if a write fails part-way, the consent is
        still there and the admin's retry lists and revokes what is left, so no consent is
        ever gone while an older grant of it lives on. Not atomic against an authorization
        already past its consent check: a grant it creates meanwhile is not revoked.
        """
        revoked: list[str] = []
        for grant in self.list_grants(sub):
            if grant.client_id == client_id and grant.active:
                self.revoke_grant(grant.grant_id, when, reason)
                revoked.append(grant.grant_id)
        self.table.delete(f"CONSENT#{sub}", f"CLIENT#{client_id}")
        return revoked

    # -- signing keys -----------------------------------------------------------------------

    def put_key(self, key: SigningKey) -> None:
        self.table.put(_item(key, "KEYS", f"KEY#{key.kid}"), if_absent=True)

    def list_keys(self) -> list[SigningKey]:
        return [k for i in self.table.query("KEYS", "KEY#") if (k := _record(SigningKey, i))]

    def set_key_states(self, changes: list[tuple[SigningKey, str]], now: int) -> None:
        """Move signing keys to new states (next -> active -> retired) in one transaction.

        Each write expects the state the caller read, so of two rotations racing, one applies
        and the other raises ConditionFailed with nothing written.
        """
        stamps = {"active": "activated_at", "retired": "retired_at"}
        writes: list[Update] = []
        for key, state in changes:
            values: Item = {"state": state}
            if state in stamps:
                values[stamps[state]] = now
            writes.append(Update("KEYS", f"KEY#{key.kid}", values, expect={"state": key.state}))
        try:
            self.table.transact(list(writes))
        except TransactionCanceled as canceled:
            raise ConditionFailed(next(iter(canceled.failed.values()), None)) from None

    # -- brute-force counters (chalicelib/accounts/rate_limit.py) ---------------------------

    def failure_counts(self, windows: list[tuple[str, int]]) -> list[int]:
        """The failures counted in each (subject, window start), in order; 0 where none.
        One read for all of them (BatchGetItem)."""
        items = self.table.get_many(
            [(f"RATE#{subject}", f"W#{start}") for subject, start in windows]
        )
        return [int(item.get("count", 0)) if item else 0 for item in items]

    def count_failure(self, subject: str, window_start: int, expires: int) -> int:
        """One more failure in this window (one atomic write); the count so far."""
        return self.table.increment(f"RATE#{subject}", f"W#{window_start}", expires)

    # -- client assertions (private_key_jwt) -------------------------------------------------

    def use_assertion(self, client_id: str, jti: str, until: int, consumer: str) -> None:
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

    # -- demo API notes ---------------------------------------------------------------------

    def put_note(self, note: Note) -> None:
        sk = f"NOTE#{note.created_at:012d}#{note.note_id}"  # sorts by time
        self.table.put(_item(note, f"NOTES#{note.sub}", sk), if_absent=True)

    def list_notes(self, sub: str, limit: int = 100) -> list[Note]:
        """The subject's newest notes first (one Query)."""
        items = self.table.query(f"NOTES#{sub}", "NOTE#")
        return [n for i in reversed(items) if (n := _record(Note, i))][:limit]
