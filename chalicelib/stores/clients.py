"""Client registrations: CLIENT#<client_id> / CLIENT, and their index CLIENTS / CLIENT#<id>.

The index holds one key-only item per client, in one partition, so that an admin listing is
a paged Query of it (plus one BatchGetItem per page) instead of a scan of the whole table.
It is written with the client, in one transaction, by create, save and delete.
"""

from __future__ import annotations

from chalicelib.stores.models import Client
from chalicelib.stores.records import from_item, index_all, index_page, to_item
from chalicelib.stores.table import Delete, ItemExists, Put, Table, TransactionCanceled

INDEX = "CLIENTS"


def _index(client_id: str) -> dict[str, str]:
    return {"pk": INDEX, "sk": f"CLIENT#{client_id}", "kind": "ClientIndex"}


class ClientRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, client: Client) -> None:
        """ItemExists if the client id is taken."""
        item = to_item(client, f"CLIENT#{client.client_id}", "CLIENT")
        try:
            self.table.transact([Put(item, if_absent=True), Put(_index(client.client_id))])
        except TransactionCanceled:
            raise ItemExists(f"client {client.client_id!r} exists") from None

    def save(self, client: Client) -> None:
        """Write the client (its index entry too: a client stored before the index existed
        is listed from its first change on)."""
        item = to_item(client, f"CLIENT#{client.client_id}", "CLIENT")
        self.table.transact([Put(item), Put(_index(client.client_id))])

    def get(self, client_id: str) -> Client | None:
        return from_item(Client, self.table.get(f"CLIENT#{client_id}", "CLIENT"))

    def page(self, limit: int, after: str | None = None) -> tuple[list[Client], str | None]:
        """Up to `limit` clients by id, after the client id `after`; and the id to pass as
        `after` for the next page (None at the end)."""
        return index_page(self.table, INDEX, "CLIENT#", Client, limit=limit, after=after)

    def all(self) -> list[Client]:
        return index_all(self.table, INDEX, "CLIENT#", Client)

    def delete(self, client_id: str) -> None:
        self.table.transact(
            [Delete(f"CLIENT#{client_id}", "CLIENT"), Delete(INDEX, f"CLIENT#{client_id}")]
        )
