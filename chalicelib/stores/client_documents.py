"""Client ID Metadata Documents as fetched, cached for every container:
CIMD#<sha256(client_id URL)> / CIMD, the client as read from its document, with a ttl
from the document's HTTP caching headers (bounded, chalicelib/documents/client_documents.py).
"""

from __future__ import annotations

from chalicelib.ids import digest
from chalicelib.stores.models import Client
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table


class ClientDocuments:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, url: str) -> Client | None:
        return from_item(Client, self.table.get(f"CIMD#{digest(url)}", "CIMD"))

    def put(self, client: Client, expires_at: int) -> None:
        self.table.put(to_item(client, f"CIMD#{digest(client.client_id)}", "CIMD", expires_at))
