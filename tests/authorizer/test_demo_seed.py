"""`make run`'s demo clients may ask for the demo API's scopes, also when seeded before."""

from __future__ import annotations

from pathlib import Path

from chalicelib.admin import local
from chalicelib.clock import SystemClock
from chalicelib.settings import Settings, load_settings
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import Client, Resource
from chalicelib.stores.repository import Store

NOTES = ["notes:read", "notes:write"]


def test_existing_demo_clients_get_the_new_scopes(tmp_path: Path) -> None:
    store = Store(MemoryTable(SystemClock()))
    for client_id in (local.WEB_CLIENT, local.SPA_CLIENT):
        store.clients.create(
            Client(
                client_id=client_id,
                name="seeded by an older Tollgate",
                client_type="public",
                auth_method="none",
                redirect_uris=["http://127.0.0.1:8000/demo/callback"],
                grant_types=["authorization_code"],
                scopes=["openid", "profile", "email"],
            )
        )
    store.resources.create(Resource(uri="http://127.0.0.1:8000", name="x", scopes=["a"]))
    local.seed(store, 8000, tmp_path)
    local.seed(store, 8000, tmp_path)  # idempotent: nothing added twice
    api = store.resources.get("http://127.0.0.1:8000")
    assert api is not None and (api.name, api.scopes) == ("x", ["a", *NOTES])
    spa, web = store.clients.get(local.SPA_CLIENT), store.clients.get(local.WEB_CLIENT)
    assert spa is not None and web is not None
    assert spa.scopes == ["openid", "profile", "email", *NOTES]
    # Updated in place: the web app becomes the confidential refresh-token client it is now.
    assert web.scopes == ["openid", "profile", "email", *NOTES, "offline_access"]
    assert (web.client_type, web.auth_method) == ("confidential", "client_secret_basic")
    assert web.grant_types == ["authorization_code", "refresh_token"]
    assert web.secret_hash is not None
    for client in (spa, web):
        assert client.name == "seeded by an older Tollgate"  # the rest is left alone


def test_the_banner_asks_for_the_demo_api_scopes_and_shows_the_calls() -> None:
    creds = local.DemoCredentials("demo", "p" * 16, "demo-web", "s" * 43, "demo-spa", "x")
    text = local.banner(creds, "http://127.0.0.1:9", "http://127.0.0.1:5055", Path("x.json"))
    assert text.count("scope=openid+profile+email+notes%3Aread+notes%3Awrite") == 2
    assert text.count("notes%3Awrite+offline_access&") == 1  # the web app's, for a refresh token
    assert "http://127.0.0.1:9/api/whoami" in text
    assert '-d \'{"text": "hello"}\' http://127.0.0.1:9/api/notes' in text


def test_the_demo_api_scopes_are_supported_by_default() -> None:
    settings = load_settings({"TOLLGATE_ISSUER": "https://a.example", "TOLLGATE_TABLE": "t"})
    assert set(NOTES) <= set(settings.scopes)
    assert set(NOTES) <= set(Settings(issuer="https://a.example", table_name="t").scopes)
