"""Users: USER#<username> / USER; SUB#<sub> / SUB, the username of a subject; and the index
USERS / USER#<username> (key-only entries, written with the user) that admin listings page
through with a Query instead of scanning the table. Whoever deletes a user deletes all
three (`keys`)."""

from __future__ import annotations

from chalicelib.stores.models import User
from chalicelib.stores.records import from_item, index_all, index_page, to_item
from chalicelib.stores.table import Check, Delete, ItemExists, Put, Table, TransactionCanceled


def enabled(username: str, sub: str, stamp: str | None) -> Check:
    """A transaction's condition that the user still exists, enabled, with this `sub` (a
    user deleted and created again under the same name has another sub) and this stamp
    (not disabled since: User.stamp)."""
    return Check(f"USER#{username}", "USER", {"sub": sub, "disabled": False, "stamp": stamp})


INDEX = "USERS"


class UserRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, user: User) -> None:
        """The user and its `sub` -> username pointer, together; ItemExists if either exists,
        or if `sub` is a client's id (SECURITY.md item 37): clients reserve SUB#<client_id>
        when they are made, and one registered before that is looked up here."""
        if self.table.get(f"CLIENT#{user.sub}", "CLIENT") is not None:
            raise ItemExists(f"sub {user.sub!r} is a client id")
        pointer = {"pk": f"SUB#{user.sub}", "sk": "SUB", "kind": "SubPointer"}
        pointer["username"] = user.username
        try:
            self.table.transact(
                [
                    Put(to_item(user, f"USER#{user.username}", "USER"), if_absent=True),
                    Put(pointer, if_absent=True),
                    Put({"pk": INDEX, "sk": f"USER#{user.username}", "kind": "UserIndex"}),
                ]
            )
        except TransactionCanceled:
            raise ItemExists(f"user {user.username!r} or its sub exists") from None

    def get(self, username: str) -> User | None:
        return from_item(User, self.table.get(f"USER#{username}", "USER"))

    def get_by_sub(self, sub: str) -> User | None:
        pointer = self.table.get(f"SUB#{sub}", "SUB")
        if pointer is None or "username" not in pointer:
            return None  # no one, or a client's reservation
        user = self.get(str(pointer["username"]))
        return user if user is not None and user.sub == sub else None

    def save(self, user: User) -> None:
        self.table.put(to_item(user, f"USER#{user.username}", "USER"))

    def page(self, limit: int, after: str | None = None) -> tuple[list[User], str | None]:
        """Up to `limit` users by username, after `after`; and the next page's `after`."""
        return index_page(self.table, INDEX, "USER#", User, limit=limit, after=after)

    def all(self) -> list[User]:
        return index_all(self.table, INDEX, "USER#", User)

    @staticmethod
    def keys(user: User) -> list[tuple[str, str]]:
        """Every item that is this user: the record, its sub pointer, its index entry."""
        return [
            (f"USER#{user.username}", "USER"),
            (f"SUB#{user.sub}", "SUB"),
            (INDEX, f"USER#{user.username}"),
        ]

    def with_email(self, email: str) -> list[User]:
        """The users whose email is this one, compared without case (admin only: reads the
        whole user index)."""
        wanted = email.casefold()
        return [u for u in self.all() if u.email is not None and u.email.casefold() == wanted]

    def delete(self, user: User) -> None:
        """Every item that is this user, together."""
        self.table.transact([Delete(pk, sk) for pk, sk in self.keys(user)])
