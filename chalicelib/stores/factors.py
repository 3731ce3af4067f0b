"""A user's second factors and recovery codes, in the user's own partition:

    USER#<username>  / FACTOR#<factor_id>                      a TOTP secret or a passkey
    USER#<username>  / RECOVERY#<sha256(username, code)>       a recovery code, until used
    FACTORKEY        / FACTORKEY                               the key that seals TOTP secrets
    FACTORKEY        / MADE                                    that the key was made (item 69)

One Query of `USER#<username>` with the `FACTOR#` (or `RECOVERY#`) prefix lists them. A TOTP
secret is stored sealed (AES-GCM, accounts/totp.py, SECURITY.md item 56); recovery codes
only as SHA-256 hashes: they are 80-bit random, so, as for client secrets, a fast hash is
enough and lets a code be found by its key (SECURITY.md item 58).
"""

from __future__ import annotations

import base64
import contextlib
import secrets

from chalicelib.stores.models import Factor
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import (
    ConditionFailed,
    Delete,
    Item,
    ItemExists,
    Put,
    StoreError,
    StoreUnavailable,
    Table,
    TransactionCanceled,
    Update,
)

_SEAL_KEY = ("FACTORKEY", "FACTORKEY")
_MADE = ("FACTORKEY", "MADE")


class FactorKeyMissing(StoreError):
    """The key that seals TOTP secrets was deleted after it was made."""


def _pk(username: str) -> str:
    return f"USER#{username}"


def factor_item(factor: Factor) -> dict[str, object]:
    return to_item(factor, _pk(factor.username), f"FACTOR#{factor.factor_id}")


class FactorRepository:
    def __init__(self, table: Table) -> None:
        self.table = table
        self._seal_key: bytes | None = None

    def list_for(self, username: str) -> list[Factor]:
        """The user's factors, oldest first (one Query)."""
        found = [
            f
            for item in self.table.query(_pk(username), "FACTOR#")
            if (f := from_item(Factor, item)) is not None
        ]
        return sorted(found, key=lambda f: (f.created_at, f.factor_id))

    def get(self, username: str, factor_id: str) -> Factor | None:
        return from_item(Factor, self.table.get(_pk(username), f"FACTOR#{factor_id}"))

    def add(self, factor: Factor, recovery_hashes: list[str] | None = None) -> None:
        """A new factor, with (a first factor's) recovery codes, in one transaction."""
        writes: list[Put | Delete] = [Put(factor_item(factor), if_absent=True)]
        if recovery_hashes is not None:
            # A new set replaces any old one: codes shown before no longer work.
            writes += [Delete(_pk(factor.username), sk) for sk in self._recovery_keys(factor)]
            writes += [
                Put({"pk": _pk(factor.username), "sk": f"RECOVERY#{h}", "kind": "Recovery"})
                for h in recovery_hashes
            ]
        try:
            self.table.transact(list(writes))
        except TransactionCanceled:
            raise ItemExists(f"factor {factor.factor_id} exists") from None

    def _recovery_keys(self, factor: Factor) -> list[str]:
        return [str(i["sk"]) for i in self.table.query(_pk(factor.username), "RECOVERY#")]

    def use_step(self, factor: Factor, step: int, now: int) -> bool:
        """Record that a TOTP code of time step `step` was accepted, once: False when this
        or a later step was accepted before (a replay), also by a concurrent request (the
        write holds only while `last_step` is what this request read)."""
        if step <= factor.last_step:
            return False
        update = Update(
            _pk(factor.username),
            f"FACTOR#{factor.factor_id}",
            {"last_step": step, "last_used_at": now},
            expect={"last_step": factor.last_step},
        )
        try:
            self.table.transact([update])
        except TransactionCanceled:
            return False
        return True

    def use_passkey(self, factor: Factor, sign_count: int, backed_up: bool, now: int) -> bool:
        """Record a passkey's use: its new counter and backup state, only while the counter
        is the one this request checked against (a racing use of the same response, or of
        a clone, fails the condition)."""
        update = Update(
            _pk(factor.username),
            f"FACTOR#{factor.factor_id}",
            {"sign_count": sign_count, "backed_up": backed_up, "last_used_at": now},
            expect={"sign_count": factor.sign_count},
        )
        try:
            self.table.transact([update])
        except TransactionCanceled:
            return False
        return True

    def replace_recovery(self, username: str, hashes: list[str]) -> None:
        """A new set of recovery codes; the old ones stop working."""
        self._delete_recovery(username)
        for h in hashes:
            self.table.put({"pk": _pk(username), "sk": f"RECOVERY#{h}", "kind": "Recovery"})

    def recovery_left(self, username: str) -> int:
        items = self.table.query(_pk(username), "RECOVERY#")
        return sum(1 for i in items if "used_at" not in i)

    def use_recovery(self, username: str, code_hash: str, now: int, by: str) -> bool:
        """Spend a recovery code, once (a conditional write): False if unknown or used."""
        try:
            self.table.claim(
                _pk(username), f"RECOVERY#{code_hash}", "used_by", by, {"used_at": now}
            )
        except ConditionFailed:
            return False
        return True

    def remove(self, username: str, factor_id: str) -> bool:
        """Delete one factor; with the user's last factor go its recovery codes."""
        if self.get(username, factor_id) is None:
            return False
        self.table.delete(_pk(username), f"FACTOR#{factor_id}")
        if not self.list_for(username):
            self._delete_recovery(username)
        return True

    def remove_all(self, username: str) -> int:
        """Delete every factor and recovery code of the user; how many factors there were."""
        factors = self.list_for(username)
        for factor in factors:
            self.table.delete(_pk(username), f"FACTOR#{factor.factor_id}")
        self._delete_recovery(username)
        return len(factors)

    def _delete_recovery(self, username: str) -> None:
        for item in self.table.query(_pk(username), "RECOVERY#"):
            self.table.delete(_pk(username), str(item["sk"]))

    def seal_key(self) -> bytes:
        """The AES-256 key of TOTP secrets, made on first use; read once per container.

        Made only once per table: a marker (`FACTORKEY / MADE`, written with it) remembers
        that it was. If the key is then deleted, sealed secrets may exist that no new key
        opens, so none is made over them: FactorKeyMissing (the caller audits it, item 69).
        """
        if self._seal_key is None:
            key, made = self.table.get_many([_SEAL_KEY, _MADE])
            if key is None:
                if made is not None:
                    raise FactorKeyMissing("the factor key was deleted")
                key = self._make_key()
            elif made is None:
                # A key from before the marker existed: remember it from now on.
                self.table.put({"pk": _MADE[0], "sk": _MADE[1], "kind": "FactorKeyMade"})
            self._seal_key = base64.b64decode(str(key["key"]))
        return self._seal_key

    def _make_key(self) -> Item:
        fresh = base64.b64encode(secrets.token_bytes(32)).decode("ascii")
        pk, sk = _SEAL_KEY
        made: Item = {"pk": _MADE[0], "sk": _MADE[1], "kind": "FactorKeyMade"}
        with contextlib.suppress(TransactionCanceled):  # another request made it first
            self.table.transact(
                [Put({"pk": pk, "sk": sk, "key": fresh}, if_absent=True), Put(made)]
            )
        item = self.table.get(*_SEAL_KEY)
        if item is None:
            raise StoreUnavailable("the factor key vanished as it was made")
        return item
