"""The local stack's demo data: seed() is idempotent and its credentials work."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import socket
import stat
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from argon2 import PasswordHasher, Type
from moto import mock_aws

from chalicelib import ids
from chalicelib.accounts import passwords
from chalicelib.accounts.passwords import verify_password
from chalicelib.admin import local
from chalicelib.admin.local import DemoCredentials, seed
from chalicelib.clock import SystemClock
from chalicelib.protocol.redirect_uri import validate_registration
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition

PORT = 8123


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(local.TABLE))
        yield Store(DynamoTable(client, local.TABLE, SystemClock()))


@pytest.fixture
def fast_hash(monkeypatch: pytest.MonkeyPatch) -> None:
    """Cheap argon2id parameters where the real ones add only time."""
    cheap = functools.cache(
        lambda: PasswordHasher(time_cost=1, memory_cost=8, parallelism=1, type=Type.ID)
    )
    monkeypatch.setattr(passwords, "_hasher", cheap)


def check(store: Store, creds: DemoCredentials) -> None:
    clients = store.clients.all()
    assert [c.client_id for c in clients] == ["demo-spa", "demo-web"]
    spa, web = clients
    assert (web.name, web.client_type, web.auth_method) == (
        "Demo Web App",
        "confidential",
        "client_secret_basic",
    )
    assert web.grant_types == ["authorization_code", "refresh_token"]
    assert web.secret_hash == ids.digest(creds.web_client_secret)
    assert (spa.name, spa.client_type, spa.auth_method) == (
        "Demo Single-Page App",
        "public",
        "none",
    )
    assert spa.grant_types == ["authorization_code"]
    assert spa.secret_hash is None
    demo = ["openid", "profile", "email", "notes:read", "notes:write"]
    assert spa.scopes == demo
    assert web.scopes == [*demo, "offline_access"]  # so its flow returns a refresh token
    for client in clients:
        assert client.redirect_uris == [f"http://127.0.0.1:{PORT}/demo/callback"]
        validate_registration(client.redirect_uris[0])

    # The demo API, registered as a resource at the default audience (the issuer).
    (api,) = store.resources.all()
    assert (api.uri, api.scopes) == (f"http://127.0.0.1:{PORT}", ["notes:read", "notes:write"])

    (user,) = store.users.all()
    assert (user.username, user.name, user.email) == ("demo", "Demo User", "demo@example.com")
    assert not user.disabled
    assert verify_password(user.password_hash, creds.password)


def test_seed_twice_is_idempotent(store: Store, tmp_path: Path) -> None:
    state_dir = tmp_path / ".local"
    first = seed(store, PORT, state_dir)
    assert first.username == "demo"
    assert len(first.password) >= 12
    assert len(first.web_client_secret) >= 43
    assert first.redirect_uri == f"http://127.0.0.1:{PORT}/demo/callback"
    check(store, first)
    user = store.users.get("demo")
    assert user is not None
    sub, password_hash = user.sub, user.password_hash

    state_file = state_dir / "demo.json"
    assert stat.S_IMODE(state_file.stat().st_mode) == 0o600
    saved = json.loads(state_file.read_text())
    assert saved == {"password": first.password, "web_client_secret": first.web_client_secret}

    second = seed(store, PORT, state_dir)
    assert second == first
    check(store, second)
    user = store.users.get("demo")
    assert user is not None
    assert (user.sub, user.password_hash) == (sub, password_hash)  # not recreated


@pytest.mark.usefixtures("fast_hash")
def test_seed_updates_a_stale_secret_hash(store: Store, tmp_path: Path) -> None:
    """A fresh moto but an old state file, or a rotated secret: the file wins."""
    creds = seed(store, PORT, tmp_path)
    web = store.clients.get("demo-web")
    assert web is not None
    web.secret_hash = ids.digest("rotated elsewhere")
    store.clients.save(web)

    again = seed(store, PORT, tmp_path)
    assert again.web_client_secret == creds.web_client_secret
    check(store, again)


@pytest.mark.usefixtures("fast_hash")
def test_seed_reuses_the_state_file_on_a_fresh_store(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text(
        json.dumps({"password": "p" * 16, "web_client_secret": "s" * 43})
    )
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(local.TABLE))
        fresh = Store(DynamoTable(client, local.TABLE, SystemClock()))
        creds = seed(fresh, PORT, tmp_path)
        assert (creds.password, creds.web_client_secret) == ("p" * 16, "s" * 43)
        check(fresh, creds)


def test_pkce_pair_is_s256() -> None:
    verifier, challenge = local.pkce_pair()
    assert 43 <= len(verifier) <= 128
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert challenge == expected.rstrip(b"=").decode()


def test_authorization_url() -> None:
    url, verifier = local.authorization_url(
        "http://127.0.0.1:8000/authorize", "demo-spa", "http://127.0.0.1:8000/demo/callback"
    )
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert parts.path == "/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == "demo-spa"
    assert query["redirect_uri"] == "http://127.0.0.1:8000/demo/callback"
    assert query["scope"] == "openid profile email"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 16
    digest = hashlib.sha256(verifier.encode()).digest()
    assert query["code_challenge"] == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def test_ensure_table_creates_once_with_ttl(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        assert local.ensure_table(None) is True
        assert local.ensure_table(None) is False
        client = make_client("us-east-1", None)
        ttl = client.describe_time_to_live(TableName=local.TABLE)["TimeToLiveDescription"]
        assert ttl.get("TimeToLiveStatus") == "ENABLED"
        assert ttl.get("AttributeName") == "ttl"


def test_banner_falls_back_to_the_usual_endpoints() -> None:
    creds = DemoCredentials(
        username="demo",
        password="p" * 16,
        web_client_id="demo-web",
        web_client_secret="s" * 43,
        spa_client_id="demo-spa",
        redirect_uri="http://127.0.0.1:9/demo/callback",
    )
    # Nothing listens on port 9 (discard): discovery fails and the usual paths are used.
    text = local.banner(creds, "http://127.0.0.1:9", "http://127.0.0.1:5055", Path("x.json"))
    assert "p" * 16 in text
    assert "http://127.0.0.1:9/authorize?response_type=code&client_id=demo-spa" in text
    assert "http://127.0.0.1:9/authorize?response_type=code&client_id=demo-web" in text
    assert f"curl -s -u demo-web:{'s' * 43} -d grant_type=authorization_code" in text
    assert "-d client_id=demo-spa" in text
    assert "-d redirect_uri=http://127.0.0.1:9/demo/callback" in text
    assert text.count("code_verifier=") == 2
    assert "http://127.0.0.1:9/token" in text


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.usefixtures("fast_hash")
def test_moto_server_table_and_seed(tmp_path: Path) -> None:
    """The parts of `tollgate local run` before chalice: moto's server, table, demo data."""
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with (tmp_path / "moto.log").open("wb") as log:
        child = local.start_moto(port, log)
        try:
            assert local.ensure_table(url) is True
            assert local.ensure_table(url) is False
            store = local.local_store(url)
            first = seed(store, PORT, tmp_path)
            assert seed(store, PORT, tmp_path) == first
            check(store, first)
        finally:
            local.stop(child)
    assert child.process.returncode is not None
    assert not local._port_in_use(port)
