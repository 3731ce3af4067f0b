"""Resource servers (stores/resources.py) and their per-container cache
(stores/resource_cache.py), on MemoryTable and on DynamoDB (moto) alike."""

from __future__ import annotations

import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.models import Client, Resource
from chalicelib.stores.repository import Store
from chalicelib.stores.resource_cache import ResourceCache
from chalicelib.stores.table import ItemExists

MCP = "https://mcp.example.com/mcp?tenant=a%2Fb"  # a query and escapes are part of the key


def test_round_trip_listing_and_delete(store: Store) -> None:
    mcp = Resource(uri=MCP, name="MCP", scopes=["tools:read"], created_at=1, token_ttl=60)
    notes = Resource(uri="https://notes.example/", name="Notes", scopes=["notes:read"])
    store.resources.create(mcp)
    store.resources.create(notes)
    assert store.resources.get(MCP) == mcp
    assert store.resources.get("https://notes.example/") == notes
    assert [r.uri for r in store.resources.all()] == ["https://mcp.example.com/mcp?tenant=a%2Fb",
                                                      "https://notes.example/"]  # fmt: skip
    with pytest.raises(ItemExists):
        store.resources.create(Resource(uri=MCP, name="again", scopes=["x"]))
    mcp.scopes.append("tools:write")
    store.resources.save(mcp)
    assert store.resources.get(MCP) == mcp
    store.resources.delete(MCP)
    assert store.resources.get(MCP) is None
    assert [r.uri for r in store.resources.all()] == ["https://notes.example/"]


def test_resources_are_apart_from_clients(store: Store) -> None:
    """A client whose id looks like a URI never reads as a resource, and the reverse."""
    store.clients.create(
        Client(
            client_id=MCP,
            name="c",
            client_type="public",
            auth_method="none",
            redirect_uris=[],
            grant_types=["client_credentials"],
            scopes=["a"],
        )
    )
    assert store.resources.get(MCP) is None and store.resources.all() == []


def test_the_cache_reads_once_per_ttl_and_again_for_a_uri_it_lacks(
    store: Store, clock: FakeClock
) -> None:
    reads: list[int] = []
    real = store.resources.all

    def counted() -> list[Resource]:
        reads.append(clock.now())
        return real()

    store.resources.all = counted  # type: ignore[method-assign]
    cache = ResourceCache(store, clock, ttl=60)
    store.resources.create(Resource(uri=MCP, name="MCP", scopes=["tools:read"]))
    assert set(cache.find([MCP])) == {MCP}
    assert set(cache.find([MCP])) == {MCP} and len(reads) == 1  # cached
    # A URI the cached copy lacks may be new: read again, found at once.
    store.resources.create(Resource(uri="https://new.example/", name="n", scopes=["a"]))
    assert "https://new.example/" in cache.find(["https://new.example/"])
    assert len(reads) == 2
    # A deletion reaches the cache once its ttl passed.
    store.resources.delete(MCP)
    assert MCP in cache.all()
    clock.advance(60)
    assert MCP not in cache.all()
    assert len(reads) == 3
