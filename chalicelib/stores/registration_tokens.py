"""Initial access tokens (RFC 7591 3): IAT#<sha256(token)> / IAT, made by
`tollgate registration token create`; a registration that needs one presents it as a
Bearer token. Only the hash is stored (SECURITY.md 51). A token may expire (ttl) and may be
single use: the registration that uses it claims it with one conditional write, so two
parallel registrations cannot both use it.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import ConditionFailed, Table


@dataclass
class InitialAccessToken:
    token_hash: str
    created_at: int
    expires_at: int | None = None  # None: until revoked
    single_use: bool = False
    used_by: str | None = None  # the client_id a single-use token registered
    note: str = ""


class RegistrationTokens:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, token: InitialAccessToken) -> None:
        item = to_item(token, f"IAT#{token.token_hash}", "IAT", token.expires_at)
        self.table.put(item, if_absent=True)

    def get(self, token_hash: str) -> InitialAccessToken | None:
        return from_item(InitialAccessToken, self.table.get(f"IAT#{token_hash}", "IAT"))

    def use(self, token_hash: str, client_id: str) -> bool:
        """Whether the token may register `client_id` now (a single-use one is spent)."""
        token = self.get(token_hash)
        if token is None:
            return False
        if not token.single_use:
            return True
        try:
            self.table.claim(f"IAT#{token_hash}", "IAT", "used_by", client_id)
        except ConditionFailed:
            return False
        return True

    def revoke(self, token_hash: str) -> bool:
        if self.get(token_hash) is None:
            return False
        self.table.delete(f"IAT#{token_hash}", "IAT")
        return True
