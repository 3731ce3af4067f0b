"""Users: USER#<username> / USER, and SUB#<sub> / SUB, the username of a subject."""

from __future__ import annotations

from chalicelib.stores.models import User
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import ItemExists, Put, Table, TransactionCanceled


class UserRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, user: User) -> None:
        """The user and its `sub` -> username pointer, together; ItemExists if either exists."""
        pointer = {"pk": f"SUB#{user.sub}", "sk": "SUB", "kind": "SubPointer"}
        pointer["username"] = user.username
        try:
            self.table.transact(
                [
                    Put(to_item(user, f"USER#{user.username}", "USER"), if_absent=True),
                    Put(pointer, if_absent=True),
                ]
            )
        except TransactionCanceled:
            raise ItemExists(f"user {user.username!r} or its sub exists") from None

    def get(self, username: str) -> User | None:
        return from_item(User, self.table.get(f"USER#{username}", "USER"))

    def get_by_sub(self, sub: str) -> User | None:
        pointer = self.table.get(f"SUB#{sub}", "SUB")
        if pointer is None:
            return None
        user = self.get(str(pointer["username"]))
        return user if user is not None and user.sub == sub else None

    def save(self, user: User) -> None:
        self.table.put(to_item(user, f"USER#{user.username}", "USER"))

    def all(self) -> list[User]:
        return [u for i in self.table.scan_prefix("USER#") if (u := from_item(User, i))]
