"""Resource servers (RFC 8707): RESOURCES / RESOURCE#<uri>, one partition.

Resources are few (the APIs an operator registers), so they share one partition: one Query
reads them all, which is what the server does (stores/resource_cache.py) and what discovery
needs (their scopes are in `scopes_supported`).
"""

from __future__ import annotations

from chalicelib.stores.models import Resource
from chalicelib.stores.records import from_item, to_item
from chalicelib.stores.table import Table

PARTITION = "RESOURCES"
PREFIX = "RESOURCE#"


class ResourceRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def create(self, resource: Resource) -> None:
        """ItemExists if a resource with this URI is registered."""
        self.table.put(to_item(resource, PARTITION, PREFIX + resource.uri), if_absent=True)

    def save(self, resource: Resource) -> None:
        self.table.put(to_item(resource, PARTITION, PREFIX + resource.uri))

    def get(self, uri: str) -> Resource | None:
        return from_item(Resource, self.table.get(PARTITION, PREFIX + uri))

    def all(self) -> list[Resource]:
        """Every registered resource, by URI (one Query)."""
        items = self.table.query(PARTITION, PREFIX)
        return [r for item in items if (r := from_item(Resource, item))]

    def delete(self, uri: str) -> None:
        self.table.delete(PARTITION, PREFIX + uri)
