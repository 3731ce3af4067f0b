"""The local stack behind `make run`: moto's server, the table, demo data and `chalice local`.

The demo password and the demo-web client secret are generated once and kept in
`.local/demo.json` (git-ignored), so every run prints the same credentials. moto's server
keeps everything in memory, so each run creates the table and seeds it again.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any
from urllib.parse import urlencode

from chalicelib import ids
from chalicelib.clock import SystemClock
from chalicelib.stores.models import CONFIDENTIAL, PUBLIC, Client, User
from chalicelib.stores.repository import Store
from chalicelib.stores.table import ItemExists, StoreUnavailable

PROJECT_ROOT = Path(__file__).resolve().parents[2]
STATE_DIR = PROJECT_ROOT / ".local"
STATE_FILE = "demo.json"
TABLE = "tollgate-local"
REGION = "us-east-1"
HOST = "127.0.0.1"

DEMO_USER = "demo"
WEB_CLIENT = "demo-web"
SPA_CLIENT = "demo-spa"
DEMO_SCOPES = ["openid", "profile", "email"]
DEMO_API_SCOPES = ["notes:read", "notes:write"]  # the demo protected API at /api/...
CLIENT_SCOPES = [*DEMO_SCOPES, *DEMO_API_SCOPES]
MIN_PASSWORD = 12

# moto accepts any credentials; boto3 refuses to sign without some.
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}

MOTO_TIMEOUT = 20.0
CHALICE_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0


class LocalError(Exception):
    """The local stack could not start or stopped on its own."""


class _Terminated(BaseException):
    """SIGTERM arrived: shut down like on Ctrl-C."""


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    web_client_id: str
    web_client_secret: str
    spa_client_id: str
    redirect_uri: str


# -- seeding --------------------------------------------------------------------------------


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
    client = store.clients.get(wanted.client_id)
    if client is None:
        try:
            store.clients.create(wanted)
            return
        except ItemExists:
            client = store.clients.get(wanted.client_id)
            if client is None:
                raise
    changed = False
    if secret is not None and (
        client.secret_hash is None or not ids.same(client.secret_hash, ids.digest(secret))
    ):
        client.secret_hash = ids.digest(secret)
        changed = True
    for uri in wanted.redirect_uris:  # the port may have changed since the last run
        if uri not in client.redirect_uris:
            client.redirect_uris.append(uri)
            changed = True
    for scope in wanted.scopes:  # scopes added since the client was first seeded
        if scope not in client.scopes:
            client.scopes.append(scope)
            changed = True
    if changed:
        store.clients.save(client)


def seed(store: Store, port: int, state_dir: Path, *, issuer: str | None = None) -> DemoCredentials:
    """Create the demo user and clients unless they exist; safe to run any number of times.

    The demo callback is Tollgate's own page, so it lives under the issuer (which has a
    path behind API Gateway's stage); by default the issuer is `chalice local`'s address.
    """
    state = _load_state(state_dir)
    redirect_uri = f"{issuer or f'http://{HOST}:{port}'}/demo/callback"
    now = SystemClock().now()
    _seed_user(store, state["password"])
    _seed_client(
        store,
        Client(
            client_id=WEB_CLIENT,
            name="Demo Web App",
            client_type=CONFIDENTIAL,
            auth_method="client_secret_basic",
            redirect_uris=[redirect_uri],
            grant_types=["authorization_code", "refresh_token"],
            scopes=list(CLIENT_SCOPES),
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


# -- processes ------------------------------------------------------------------------------

# Requests to our own children must never go through an HTTP proxy from the environment.
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((HOST, port)) == 0


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: IO[bytes] | None = field(default=None)


def _start(name: str, argv: list[str], env: dict[str, str], log: IO[bytes] | None) -> Child:
    # A session of its own: Ctrl-C reaches only us, and stopping the group also stops
    # grandchildren (chalice's autoreloader runs the server in a child process).
    try:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and its scripts)
            argv,
            cwd=PROJECT_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT if log else None,
            start_new_session=True,
        )
    except OSError as exc:
        if log is not None:
            log.close()
        raise LocalError(f"cannot start {name}: {exc}") from None
    return Child(name, process, log)


def _signal_group(child: Child, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):  # the group is gone
        os.killpg(child.process.pid, signum)


def stop(child: Child) -> None:
    """Terminate a child and its group; kill it if it has not stopped after 5 s."""
    _signal_group(child, signal.SIGTERM)
    try:
        child.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        _signal_group(child, signal.SIGKILL)
        child.process.wait()
    _signal_group(child, signal.SIGKILL)  # stragglers in the group, if any
    if child.log is not None:
        child.log.close()


def wait_until_answering(url: str, child: Child, timeout: float) -> None:
    """Poll `url` until any HTTP answer comes; LocalError if the child dies or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        code = child.process.poll()
        if code is not None:
            raise LocalError(f"{child.name} exited with code {code} before it answered")
        try:
            with _opener.open(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # an error status is still an answer
        except (urllib.error.URLError, OSError):
            pass
        if time.monotonic() > deadline:
            raise LocalError(f"{child.name} did not answer at {url} within {timeout:.0f} s")
        time.sleep(0.2)


def start_moto(moto_port: int, log: IO[bytes] | None) -> Child:
    argv = [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)]
    child = _start("moto server", argv, dict(os.environ), log)
    try:
        wait_until_answering(f"http://{HOST}:{moto_port}/moto-api/", child, MOTO_TIMEOUT)
    except BaseException:
        stop(child)
        raise
    return child


def _no_proxy(env: MutableMapping[str, str]) -> None:
    for name in ("NO_PROXY", "no_proxy"):
        hosts = [h for h in env.get(name, "").split(",") if h]
        env[name] = ",".join(_unique([*hosts, HOST, "localhost"]))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def chalice_env(port: int, moto_url: str, issuer: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        env.pop(name, None)
    env.update(
        TOLLGATE_ISSUER=issuer or f"http://{HOST}:{port}",
        TOLLGATE_TABLE=TABLE,
        TOLLGATE_STAGE="local",
        AWS_ENDPOINT_URL=moto_url,
        **DUMMY_CREDENTIALS,
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
    )
    _no_proxy(env)
    return env


def start_chalice(
    port: int, moto_url: str, *, autoreload: bool = True, issuer: str | None = None
) -> Child:
    """`chalice local` on `port`; `issuer` when it is reached elsewhere (a stage proxy)."""
    chalice = Path(sys.executable).parent / "chalice"
    if not chalice.exists():
        raise LocalError(f"{chalice} not found: install the dev dependencies (uv sync)")
    argv = [str(chalice), "local", "--stage", "local", "--host", HOST, "--port", str(port)]
    if not autoreload:
        # Tests: a restart triggered by other tools writing into the tree would drop requests.
        argv.append("--no-autoreload")
    return _start("chalice local", argv, chalice_env(port, moto_url, issuer), None)


def supervise(children: list[Child], interval: float = 0.5) -> int:
    """Block until a child exits; then report it and return 1 (the caller stops the rest)."""
    while True:
        for child in children:
            code = child.process.poll()
            if code is not None:
                others = [c.name for c in children if c is not child]
                print(
                    f"tollgate: {child.name} exited with code {code}; "
                    f"stopping {', '.join(others) or 'everything'}",
                    file=sys.stderr,
                )
                return 1
        time.sleep(interval)


# -- what to print --------------------------------------------------------------------------


def pkce_pair() -> tuple[str, str]:
    """A code_verifier (RFC 7636 4.1) and its S256 code_challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def discover(issuer: str) -> tuple[str, str]:
    """The authorization and token endpoints from discovery, or the usual paths."""
    endpoints = (f"{issuer}/authorize", f"{issuer}/token")
    try:
        url = f"{issuer}/.well-known/openid-configuration"
        with _opener.open(url, timeout=3) as response:
            doc: Any = json.loads(response.read())
    except (OSError, ValueError):
        return endpoints
    if not isinstance(doc, dict):
        return endpoints
    authorize, token = doc.get("authorization_endpoint"), doc.get("token_endpoint")
    if isinstance(authorize, str) and isinstance(token, str):
        return authorize, token
    return endpoints


def authorization_url(
    authorize_endpoint: str, client_id: str, redirect_uri: str, scopes: list[str] | None = None
) -> tuple[str, str]:
    """A ready-to-open authorization request with PKCE, and the verifier that redeems it."""
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes or DEMO_SCOPES),
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize_endpoint}?{query}", verifier


def banner(creds: DemoCredentials, issuer: str, moto_url: str, state_file: Path) -> str:
    authorize, token = discover(issuer)
    spa_url, spa_verifier = authorization_url(
        authorize, creds.spa_client_id, creds.redirect_uri, CLIENT_SCOPES
    )
    web_url, web_verifier = authorization_url(
        authorize, creds.web_client_id, creds.redirect_uri, CLIENT_SCOPES
    )
    q = shlex.quote

    def exchange(auth: list[str], verifier: str) -> str:
        parts = [
            "curl",
            "-s",
            *auth,
            "-d",
            "grant_type=authorization_code",
            "-d",
            "code=PASTE_CODE",
            "-d",
            q(f"redirect_uri={creds.redirect_uri}"),
            "-d",
            f"code_verifier={verifier}",
            q(token),
        ]
        return " ".join(parts)

    web_auth = ["-u", q(f"{creds.web_client_id}:{creds.web_client_secret}")]
    spa_auth = ["-d", q(f"client_id={creds.spa_client_id}")]
    bearer = "curl -s -H 'Authorization: Bearer PASTE_TOKEN'"
    note = q('{"text": "hello"}')
    return "\n".join(
        [
            "",
            f"Tollgate is running at {issuer}",
            f"  DynamoDB: moto at {moto_url}, table {TABLE}",
            f"  Sign in as {creds.username!r} with password {creds.password}",
            "",
            f"Single-page app (public client {creds.spa_client_id}). Open:",
            f"  {spa_url}",
            "then exchange the code from the callback URL:",
            f"  {exchange(spa_auth, spa_verifier)}",
            "",
            f"Web app (confidential client {creds.web_client_id}, "
            f"secret {creds.web_client_secret}). Open:",
            f"  {web_url}",
            "then exchange the code from the callback URL:",
            f"  {exchange(web_auth, web_verifier)}",
            "",
            "Then call the demo protected API with the access_token:",
            f"  {bearer} {q(issuer + '/api/whoami')}",
            f"  {bearer} {q(issuer + '/api/notes')}",
            f"  {bearer} -H 'Content-Type: application/json' -d {note} {q(issuer + '/api/notes')}",
            "",
            f"The demo credentials are kept in {state_file}. Ctrl-C stops everything.",
            "",
        ]
    )


# -- run ------------------------------------------------------------------------------------


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise _Terminated


def run(port: int, moto_port: int, state_dir: Path = STATE_DIR) -> int:
    """Start moto, create and seed the table, start chalice local; stop both on Ctrl-C."""
    if port == moto_port:
        print("tollgate: --port and --moto-port must differ", file=sys.stderr)
        return 2
    for busy, what in ((moto_port, "--moto-port"), (port, "--port")):
        if _port_in_use(busy):
            print(f"tollgate: port {busy} is in use (choose another {what})", file=sys.stderr)
            return 1
    moto_url = f"http://{HOST}:{moto_port}"
    issuer = f"http://{HOST}:{port}"
    if not os.environ.get("AWS_ACCESS_KEY_ID"):  # moto takes any; boto3 needs some to sign
        os.environ.update(DUMMY_CREDENTIALS)
    _no_proxy(os.environ)

    children: list[Child] = []
    # Ctrl-C must stop us even when we were started with SIGINT ignored (a job started in
    # the background of a non-interactive shell inherits that, and Python keeps it).
    previous_int = signal.signal(signal.SIGINT, signal.default_int_handler)
    previous_term = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # Not inside the project: chalice's autoreloader restarts on any change below it.
        moto_log = Path(tempfile.gettempdir()) / f"tollgate-moto-{moto_port}.log"
        print(f"Starting moto at {moto_url} (log: {moto_log})", flush=True)
        children.append(start_moto(moto_port, moto_log.open("wb")))
        ensure_table(moto_url)
        creds = seed(local_store(moto_url), port, state_dir)
        print(f"Starting chalice local at {issuer}", flush=True)
        children.append(start_chalice(port, moto_url))
        wait_until_answering(
            f"{issuer}/.well-known/openid-configuration", children[-1], CHALICE_TIMEOUT
        )
        print(banner(creds, issuer, moto_url, state_dir / STATE_FILE), flush=True)
        return supervise(children)
    except (KeyboardInterrupt, _Terminated):
        print("\nStopping.", file=sys.stderr)
        return 0
    except LocalError as exc:
        print(f"tollgate: {exc}", file=sys.stderr)
        return 1
    except StoreUnavailable as exc:
        print(f"tollgate: seeding the demo data failed: {exc}", file=sys.stderr)
        return 1
    finally:
        # A second Ctrl-C must not leave children behind.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            for child in reversed(children):
                stop(child)
        finally:
            signal.signal(signal.SIGINT, previous_int)
            signal.signal(signal.SIGTERM, previous_term)
