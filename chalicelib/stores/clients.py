"""Client registrations: CLIENT#<client_id> / CLIENT, their index CLIENTS / CLIENT#<id>,
and SUB#<client_id> / SUB, the client's reservation of its id as a subject.

The index holds one key-only item per client, in one partition, so that an admin listing is
a paged Query of it (plus one BatchGetItem per page) instead of a scan of the whole table.
It is written with the client, in one transaction, by create, save and delete.

Machine and user subjects never collide (RFC 9068 5, SECURITY.md item 37): a client's
client_credentials tokens carry `sub` = its client_id, so a client reserves its id in the
namespace of users' subjects (SUB#, where UserRepository.create puts a user's `sub`), in
the same transaction as its registration. Whichever comes second is refused.

A dynamic client not yet used (Client.unused_expires_at) is written with that ttl on all
three items, so a registration nobody uses disappears by itself; `mark_used` writes them
again without it at the client's first token (SECURITY.md 53).
"""

from __future__ import annotations

from chalicelib.stores.models import Client
from chalicelib.stores.records import from_item, index_all, index_page, to_item
from chalicelib.stores.table import Delete, ItemExists, Put, Table, TransactionCanceled, Write

INDEX = "CLIENTS"
CLIENT_SUBJECT = "ClientSubject"  # the kind of a client's SUB# reservation


def _index(client: Client) -> dict[str, object]:
    item: dict[str, object] = {
        "pk": INDEX,
        "sk": f"CLIENT#{client.client_id}",
        "kind": "ClientIndex",
    }
    return _ttl(item, client)


def _reservation(client: Client) -> dict[str, object]:
    item: dict[str, object] = {"pk": f"SUB#{client.client_id}", "sk": "SUB", "kind": CLIENT_SUBJECT}
    return _ttl(item, client)


def _ttl(item: dict[str, object], client: Client) -> dict[str, object]:
    if client.unused_expires_at is not None:
        item["ttl"] = client.unused_expires_at
    return item


def _record(client: Client) -> dict[str, object]:
    return to_item(client, f"CLIENT#{client.client_id}", "CLIENT", client.unused_expires_at)


class ClientRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, client: Client) -> None:
        """ItemExists if the client id is taken, by a client or as a user's `sub`."""
        try:
            self.table.transact(
                [
                    Put(_record(client), if_absent=True),
                    Put(_index(client)),
                    Put(_reservation(client), if_absent=True),
                ]
            )
        except TransactionCanceled:
            raise ItemExists(f"client id {client.client_id!r} is taken") from None

    def save(self, client: Client) -> None:
        """Write the client (its index entry too: a client stored before the index existed
        is listed from its first change on)."""
        self.table.transact([Put(_record(client)), Put(_index(client))])

    def mark_used(self, client: Client) -> None:
        """A dynamic client's first use: it no longer expires (its three items lose the ttl)."""
        client.unused_expires_at = None
        self.table.transact([Put(_record(client)), Put(_index(client)), Put(_reservation(client))])

    def get(self, client_id: str) -> Client | None:
        return from_item(Client, self.table.get(f"CLIENT#{client_id}", "CLIENT"))

    def page(self, limit: int, after: str | None = None) -> tuple[list[Client], str | None]:
        """Up to `limit` clients by id, after the client id `after`; and the id to pass as
        `after` for the next page (None at the end)."""
        return index_page(self.table, INDEX, "CLIENT#", Client, limit=limit, after=after)

    def all(self) -> list[Client]:
        return index_all(self.table, INDEX, "CLIENT#", Client)

    def delete(self, client_id: str) -> None:
        """The registration, its index entry and its subject reservation (never a user's)."""
        reserved = self.table.get(f"SUB#{client_id}", "SUB")
        writes: list[Write] = [
            Delete(f"CLIENT#{client_id}", "CLIENT"),
            Delete(INDEX, f"CLIENT#{client_id}"),
        ]
        if reserved is not None and reserved.get("kind") == CLIENT_SUBJECT:
            writes.append(Delete(f"SUB#{client_id}", "SUB"))
        self.table.transact(writes)
