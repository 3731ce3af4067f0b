"""Client registrations: CLIENT#<client_id> / CLIENT."""

from __future__ import annotations

from chalicelib.stores.models import Client
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table


class ClientRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, client: Client) -> None:
        """ItemExists if the client id is taken."""
        self.table.put(to_item(client, f"CLIENT#{client.client_id}", "CLIENT"), if_absent=True)

    def save(self, client: Client) -> None:
        self.table.put(to_item(client, f"CLIENT#{client.client_id}", "CLIENT"))

    def get(self, client_id: str) -> Client | None:
        return from_item(Client, self.table.get(f"CLIENT#{client_id}", "CLIENT"))

    def all(self) -> list[Client]:
        return [c for i in self.table.scan_prefix("CLIENT#") if (c := from_item(Client, i))]

    def delete(self, client_id: str) -> None:
        self.table.delete(f"CLIENT#{client_id}", "CLIENT")
