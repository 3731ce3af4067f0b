"""WebAuthn registration challenges (passkeys, SECURITY.md item 66): one item per challenge,

    CHALLENGE#<sha256(challenge)> / CHALLENGE     purpose, what it is bound to, ttl

kept until it is used once or expires (ttl, 5 minutes). A sign-in's challenge lives in its
pending authorization instead (Interaction.passkey_challenge): showing the login page again
writes nothing. A challenge is consumed by one
conditional write (`claim`), so two requests presenting the same signed response cannot
both pass; an expired one reads as absent.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.ids import digest
from chalicelib.stores.table import ConditionFailed, Table

_SK = "CHALLENGE"


@dataclass(frozen=True)
class Challenge:
    purpose: str  # "register" (the security page; a sign-in's is its Interaction's)
    bound_to: str  # the session's sid_hash
    username: str


def _pk(challenge: str) -> str:
    return f"CHALLENGE#{digest(challenge)}"


class ChallengeRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def issue(self, challenge: str, bound: Challenge, expires_at: int) -> None:
        """Keep a new (random, base64url) challenge until `expires_at`."""
        item = {"pk": _pk(challenge), "sk": _SK, "kind": "Challenge", "ttl": expires_at}
        item.update(purpose=bound.purpose, bound_to=bound.bound_to, username=bound.username)
        self.table.put(item, if_absent=True)

    def consume(self, challenge: str, consumer: str) -> Challenge | None:
        """The challenge's binding, once: None when unknown, expired or used before."""
        if not challenge or len(challenge) > 128:
            return None
        try:
            item = self.table.claim(_pk(challenge), _SK, "used_by", consumer)
        except ConditionFailed:
            return None
        return Challenge(str(item["purpose"]), str(item["bound_to"]), str(item["username"]))
