"""The local stack's data: the table in moto's server and the demo user and clients.

The demo password and the demo-web client secret are generated once and kept in
`<state dir>/demo.json` (git-ignored), so every run prints the same credentials. moto's server
keeps everything in memory, so each run creates the table and seeds it again; a table that
is still there (an older seed) is brought up to date in place.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from chalicelib import ids
from chalicelib.clock import SystemClock
from chalicelib.stores.models import CONFIDENTIAL, PUBLIC, Client, Resource, User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists

STATE_FILE = "demo.json"
TABLE = "tollgate-local"
REGION = "us-east-1"
HOST = "127.0.0.1"

DEMO_USER = "demo"
WEB_CLIENT = "demo-web"
SPA_CLIENT = "demo-spa"
DEMO_SCOPES = ["openid", "profile", "email"]
DEMO_API_SCOPES = ["notes:read", "notes:write"]  # the demo protected API at /api/...
DEMO_API_NAME = "Demo notes API"
CLIENT_SCOPES = [*DEMO_SCOPES, *DEMO_API_SCOPES]
# The web app keeps a refresh token: an OpenID request gets one only with offline_access.
WEB_SCOPES = [*CLIENT_SCOPES, "offline_access"]
MIN_PASSWORD = 12


class LocalError(Exception):
    """The local stack could not start or stopped on its own."""


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    web_client_id: str
    web_client_secret: str
    spa_client_id: str
    redirect_uri: str


def _new_password() -> str:
    return secrets.token_urlsafe(12)  # 16 characters, 96 bits: easy to paste, hard to guess


def _load_state(state_dir: Path) -> dict[str, str]:
    """The demo secrets from the state file, generating (and saving) whatever is missing."""
    path = state_dir / STATE_FILE
    state: dict[str, str] = {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raw = {}
    if isinstance(raw, dict):
        state = {k: v for k, v in raw.items() if isinstance(k, str) and isinstance(v, str)}
    changed = False
    if len(state.get("password", "")) < MIN_PASSWORD:
        state["password"] = _new_password()
        changed = True
    if len(state.get("web_client_secret", "")) < 32:
        state["web_client_secret"] = ids.new_secret()
        changed = True
    if changed:
        state_dir.mkdir(parents=True, exist_ok=True)
        # Owner-only: the file holds the demo password and client secret.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(state, out, indent=2)
            out.write("\n")
    return state


def _seed_user(store: Store, password: str) -> None:
    from chalicelib.accounts.passwords import hash_password, verify_password

    user = store.users.get(DEMO_USER)
    if user is None:
        try:
            store.users.create(
                User(
                    username=DEMO_USER,
                    sub=ids.new_id(),
                    password_hash=hash_password(password),
                    name="Demo User",
                    email="demo@example.com",
                    created_at=SystemClock().now(),
                )
            )
            return
        except ItemExists:
            user = store.users.get(DEMO_USER)
            if user is None:
                raise
    if not verify_password(user.password_hash, password):
        user.password_hash = hash_password(password)
        store.users.save(user)


def _seed_client(store: Store, wanted: Client, secret: str | None) -> None:
    """Create the demo client, or bring an existing one up to what this version seeds: its
    type, authentication, secret, grant types, and every scope and redirect URI it needs
    (the port may have changed since the last run). What an admin added stays."""
    client = store.clients.get(wanted.client_id)
    if client is None:
        try:
            store.clients.create(wanted)
            return
        except ItemExists:
            client = store.clients.get(wanted.client_id)
            if client is None:
                raise
    before = Client(**vars(client))
    client.client_type, client.auth_method = wanted.client_type, wanted.auth_method
    if secret is None:
        client.secret_hash = None
    elif client.secret_hash is None or not ids.same(client.secret_hash, ids.digest(secret)):
        client.secret_hash = ids.digest(secret)
    for name in ("grant_types", "scopes", "redirect_uris"):
        have: list[str] = getattr(client, name)
        setattr(client, name, [*have, *(v for v in getattr(wanted, name) if v not in have)])
    if vars(client) != vars(before):
        store.clients.save(client)


def _seed_resource(store: Store, uri: str) -> None:
    """Register the demo API as a resource (its URI is the issuer: the stage's default
    audience, which the demo API checks), or give an existing one the demo API's scopes."""
    found = store.resources.get(uri)
    if found is None:
        try:
            store.resources.create(
                Resource(
                    uri=uri,
                    name=DEMO_API_NAME,
                    scopes=list(DEMO_API_SCOPES),
                    created_at=SystemClock().now(),
                )
            )
            return
        except ItemExists:
            found = store.resources.get(uri)
            if found is None:
                raise
    missing = [s for s in DEMO_API_SCOPES if s not in found.scopes]
    if missing:
        found.scopes = [*found.scopes, *missing]
        store.resources.save(found)


def seed(store: Store, port: int, state_dir: Path, *, issuer: str | None = None) -> DemoCredentials:
    """Create the demo user and clients unless they exist; safe to run any number of times.

    The demo callback is Tollgate's own page, so it lives under the issuer (which has a
    path behind API Gateway's stage); by default the issuer is `chalice local`'s address.
    """
    state = _load_state(state_dir)
    base = issuer or f"http://{HOST}:{port}"
    redirect_uri = f"{base}/demo/callback"
    now = SystemClock().now()
    _seed_user(store, state["password"])
    _seed_resource(store, base)
    _seed_client(
        store,
        Client(
            client_id=WEB_CLIENT,
            name="Demo Web App",
            client_type=CONFIDENTIAL,
            auth_method="client_secret_basic",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            scopes=list(WEB_SCOPES),
            secret_hash=ids.digest(state["web_client_secret"]),
            created_at=now,
        ),
        state["web_client_secret"],
    )
    _seed_client(
        store,
        Client(
            client_id=SPA_CLIENT,
            name="Demo Single-Page App",
            client_type=PUBLIC,
            auth_method="none",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code"],
            scopes=list(CLIENT_SCOPES),
            created_at=now,
        ),
        None,
    )
    return DemoCredentials(
        username=DEMO_USER,
        password=state["password"],
        web_client_id=WEB_CLIENT,
        web_client_secret=state["web_client_secret"],
        spa_client_id=SPA_CLIENT,
        redirect_uri=redirect_uri,
    )


# -- the table ------------------------------------------------------------------------------


def ensure_table(endpoint_url: str | None, name: str = TABLE, region: str = REGION) -> bool:
    """Create the table (with TTL on) unless it exists; True when it was created."""
    from botocore.exceptions import BotoCoreError, ClientError

    from chalicelib.stores.dynamodb import make_client
    from chalicelib.stores.schema import TTL_ATTRIBUTE, table_definition

    client = make_client(region, endpoint_url)
    created = True
    try:
        try:
            client.create_table(**table_definition(name))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "ResourceInUseException":
                raise
            created = False
        client.get_waiter("table_exists").wait(
            TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 30}
        )
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
        if ttl.get("TimeToLiveStatus") not in {"ENABLED", "ENABLING"}:
            client.update_time_to_live(
                TableName=name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
            )
    except (ClientError, BotoCoreError) as exc:
        raise LocalError(f"cannot create table {name!r} at {endpoint_url}: {exc}") from None
    return created


def local_store(endpoint_url: str | None, name: str = TABLE, region: str = REGION) -> Store:
    from chalicelib.stores.dynamodb import DynamoTable, make_client

    return Store(DynamoTable(make_client(region, endpoint_url), name, SystemClock()))
