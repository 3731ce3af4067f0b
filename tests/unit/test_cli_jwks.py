"""`tollgate client create --auth-method private_key_jwt` and `tollgate client set-jwks`:
a client's public JWK Set is checked strictly (EC P-256 or RSA of at least 2048 bits, public
members only, one kid per key), and refused with exit code 2 and a message saying why."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto import mock_aws

from chalicelib.admin.cli import main
from chalicelib.clock import SystemClock
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from tests.support.assertions import client_key, jwks

TABLE = "tollgate-test"
EC = client_key("cli-ec")
RSA = client_key("cli-rsa", "RS256")


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition(TABLE))
        yield Store(DynamoTable(client, TABLE, SystemClock()))


def run(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv), store=store)
    out, err = capsys.readouterr()
    return code, out, err


def create(*extra: str) -> list[str]:
    return [
        "client",
        "create",
        "--name",
        "Nightly job",
        "--client-id",
        "job",
        "--grant-type",
        "client_credentials",
        "--scope",
        "notes:read",
        *extra,
    ]


def write(tmp_path: Path, doc: object) -> str:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(doc))
    return str(path)


# -- create ---------------------------------------------------------------------------------


def test_create_with_a_jwks_file(
    store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    keys = jwks(EC, RSA)
    argv = create("--auth-method", "private_key_jwt", "--jwks-file", write(tmp_path, keys))
    code, out, err = run(store, capsys, "--json", *argv)
    assert code == 0, err
    created = json.loads(out)
    assert created["auth_method"] == "private_key_jwt"
    assert created["has_secret"] is False and "client_secret" not in created
    assert created["jwks"] == keys
    client = store.clients.get("job")
    assert client is not None
    assert (client.client_type, client.secret_hash, client.jwks) == ("confidential", None, keys)

    code, out, _ = run(store, capsys, "client", "show", "job")
    assert code == 0
    assert "cli-ec, cli-rsa" in out and "client_secret" not in out


def test_create_with_inline_jwks(store: Store, capsys: pytest.CaptureFixture[str]) -> None:
    argv = create("--auth-method", "private_key_jwt", "--jwks", json.dumps(jwks(EC)))
    code, out, err = run(store, capsys, *argv)
    assert code == 0, err
    assert "client_secret:" not in out
    client = store.clients.get("job")
    assert client is not None and client.jwks == jwks(EC)


def test_create_with_jwks_on_stdin(
    store: Store, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(jwks(RSA))))
    code, _, err = run(
        store, capsys, *create("--auth-method", "private_key_jwt", "--jwks-file", "-")
    )
    assert code == 0, err
    client = store.clients.get("job")
    assert client is not None and client.jwks == jwks(RSA)


def _with(jwk: dict[str, Any], **changes: Any) -> dict[str, Any]:
    out = {**jwk, **changes}
    return {k: v for k, v in out.items() if v is not None}


SMALL_RSA = client_key("small", "RS256", 1024)

# name -> (the JWK Set, a piece of the message)
BAD_SETS: dict[str, tuple[object, str]] = {
    "a single key": (EC.public_jwk(), 'wrap a single key as {"keys": [KEY]}'),
    "a list": ([EC.public_jwk()], "not a JWK Set"),
    "no keys": ({"keys": []}, "has no keys"),
    "too many keys": (
        {"keys": [{**EC.public_jwk(), "kid": f"k{i}"} for i in range(33)]},
        "at most 32",
    ),
    "EC private key": ({"keys": [EC.private_jwk()]}, "private key material (d)"),
    "RSA private key": ({"keys": [RSA.private_jwk()]}, "private key material (d, p, q, dp"),
    "symmetric key": ({"keys": [{"kty": "oct", "kid": "s", "k": "c2VjcmV0"}]}, "(k)"),
    "symmetric key without k": ({"keys": [{"kty": "oct", "kid": "s"}]}, "kty 'oct'"),
    "RSA of 1024 bits": (jwks(SMALL_RSA), "RSA key of 1024 bits"),
    "EC P-384": ({"keys": [_with(EC.public_jwk(), crv="P-384")]}, "P-256 only"),
    "duplicate kid": (
        {"keys": [EC.public_jwk(), _with(RSA.public_jwk(), kid="cli-ec")]},
        "kid 'cli-ec' appears twice",
    ),
    "no kid": ({"keys": [_with(EC.public_jwk(), kid=None)]}, 'needs a "kid"'),
    "use enc": ({"keys": [_with(EC.public_jwk(), use="enc")]}, "use 'enc'"),
    "alg not fitting": ({"keys": [_with(EC.public_jwk(), alg="RS256")]}, "does not fit"),
    "alg HS256": ({"keys": [_with(EC.public_jwk(), alg="HS256")]}, "does not fit"),
    "broken point": ({"keys": [_with(EC.public_jwk(), x="AAAA")]}, "not a valid ES256"),
    "key not an object": ({"keys": ["cli-ec"]}, "key 1 is not a JSON object"),
}


@pytest.mark.parametrize("case", sorted(BAD_SETS))
def test_create_refuses_a_bad_jwks(
    store: Store, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    doc, message = BAD_SETS[case]
    argv = create("--auth-method", "private_key_jwt", "--jwks", json.dumps(doc))
    code, _, err = run(store, capsys, *argv)
    assert code == 2
    assert err.startswith("tollgate: --jwks refused: "), err
    assert message in err, err
    assert store.clients.get("job") is None


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (create("--auth-method", "private_key_jwt"), "needs the client's public keys"),
        (create("--jwks", json.dumps(jwks(EC))), "only for --auth-method private_key_jwt"),
        (
            create("--auth-method", "client_secret_post", "--jwks", json.dumps(jwks(EC))),
            "only for --auth-method private_key_jwt",
        ),
        (
            create("--auth-method", "private_key_jwt", "--type", "public", "--jwks", "{}"),
            "public client cannot authenticate with private_key_jwt",
        ),
        (create("--auth-method", "private_key_jwt", "--jwks", "{not json"), "is not JSON"),
        (
            create("--auth-method", "private_key_jwt", "--jwks-file", "/no/such/file.json"),
            "cannot read --jwks-file /no/such/file.json",
        ),
        (
            create("--auth-method", "private_key_jwt", "--jwks", "{}", "--jwks-file", "x"),
            "not allowed with argument",
        ),
    ],
    ids=[
        "no keys",
        "keys without the method",
        "keys with a secret method",
        "public",
        "not json",
        "no file",
        "both options",
    ],
)
def test_create_refuses_inconsistent_options(
    store: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(store, capsys, *argv)
    assert code == 2
    assert message in err, err
    assert store.clients.get("job") is None


def test_a_jwks_file_that_is_too_large_is_refused(
    store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "big.json"
    path.write_text(json.dumps({"keys": [EC.public_jwk()], "pad": "x" * 70_000}))
    argv = create("--auth-method", "private_key_jwt", "--jwks-file", str(path))
    code, _, err = run(store, capsys, *argv)
    assert code == 2 and "larger than" in err, err


# -- set-jwks and rotate-secret -------------------------------------------------------------


@pytest.fixture
def job(store: Store, capsys: pytest.CaptureFixture[str]) -> Store:
    code, _, err = run(
        store, capsys, *create("--auth-method", "private_key_jwt", "--jwks", json.dumps(jwks(EC)))
    )
    assert code == 0, err
    return store


def test_set_jwks_replaces_the_keys(
    job: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(
        job, capsys, "client", "set-jwks", "job", "--jwks-file", write(tmp_path, jwks(RSA))
    )
    assert code == 0, err
    assert "cli-rsa" in out
    client = job.clients.get("job")
    assert client is not None and client.jwks == jwks(RSA)


def test_set_jwks_refuses_a_bad_set_and_keeps_the_old_one(
    job: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = json.dumps({"keys": [RSA.private_jwk()]})
    code, _, err = run(job, capsys, "client", "set-jwks", "job", "--jwks", bad)
    assert code == 2 and "private key material" in err, err
    client = job.clients.get("job")
    assert client is not None and client.jwks == jwks(EC)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["client", "set-jwks", "job"], "give the new keys"),
        (["client", "set-jwks", "nobody", "--jwks", json.dumps(jwks(RSA))], "no client"),
        (["client", "set-jwks", "web", "--jwks", json.dumps(jwks(RSA))], "not private_key_jwt"),
        (["client", "rotate-secret", "job"], "uses private_key_jwt: it has no secret"),
    ],
    ids=["no keys", "unknown client", "secret client", "rotate-secret"],
)
def test_set_jwks_and_rotate_secret_refusals(
    job: Store, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, _, err = run(
        job,
        capsys,
        "client",
        "create",
        "--name",
        "Web",
        "--client-id",
        "web",
        "--redirect-uri",
        "https://app.example/cb",
    )
    assert code == 0, err
    code, _, err = run(job, capsys, *argv)
    assert code == (3 if message == "no client" else 2) and message in err, err
    unchanged, web = job.clients.get("job"), job.clients.get("web")
    assert unchanged is not None and web is not None
    assert (unchanged.jwks, unchanged.secret_hash) == (jwks(EC), None)
    assert web.jwks is None and web.secret_hash is not None


# -- PEM where a JWK Set belongs, and the README's way to make one (issue 16 item 4) ----------


def _pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def test_a_pem_key_is_refused_with_a_message_that_says_so(
    store: Store, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "job-public.pem"
    path.write_bytes(_pem(EC))
    code, out, err = run(
        store, capsys, *create("--auth-method", "private_key_jwt", "--jwks-file", str(path))
    )
    assert (code, out) == (2, "")
    assert "holds a PEM key" in err and "JWK Set" in err and "README" in err, err
    assert "not JSON" not in err
    assert store.clients.get("job") is None


def _readme_script() -> str:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("```python\n# make_jwks.py") + len("```python\n")
    return readme[start : readme.index("```", start)]


@pytest.mark.parametrize("key", [EC, RSA], ids=["EC", "RSA"])
def test_the_readme_script_makes_a_jwks_that_create_accepts(
    store: Store,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    key: Any,
) -> None:
    import subprocess
    import sys

    script, pem = tmp_path / "make_jwks.py", tmp_path / "public.pem"
    script.write_text(_readme_script())
    pem.write_bytes(_pem(key))
    made = subprocess.run(
        [sys.executable, str(script), str(pem), "job-key-1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    monkeypatch.setattr("sys.stdin", io.StringIO(made))
    argv = create("--auth-method", "private_key_jwt", "--jwks-file", "-")
    code, _, err = run(store, capsys, *argv)
    assert code == 0, err
    client = store.clients.get("job")
    assert client is not None and client.jwks == {
        "keys": [{**key.public_jwk(), "kid": "job-key-1"}]
    }
