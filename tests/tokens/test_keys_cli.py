"""`tollgate keys rotate|list` in each signer mode, on moto's DynamoDB and KMS.

A token signed before a rotation must still validate afterwards: with PyJWT against the
published JWKS, and through the authorizer's own validation core.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import jwt
import pytest

from chalicelib.admin import keys as keys_cli
from chalicelib.admin.cli import main
from chalicelib.authorizer.keys import PublicKey, parse_jwks
from chalicelib.authorizer.validate import verify as authorize
from chalicelib.clock import FakeClock
from chalicelib.stores.repository import Store
from chalicelib.tokens import access_token
from chalicelib.tokens.kms_signer import KmsSigner
from chalicelib.tokens.signer import MIN_NEXT_AGE, KeyRing, publish_window
from tests.tokens.conftest import LIFETIME, SignerMaker

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"
GLOBAL = ["--endpoint-url", "", "--stage", "dev"]


class Published:
    """The authorizer's key source over a JWKS document, as its JWKS fetcher would hold it."""

    def __init__(self, jwks: dict[str, Any]) -> None:
        self._keys = parse_jwks(jwks)

    def get(self, kid: str) -> PublicKey | None:
        return self._keys.get(kid)


@pytest.fixture(autouse=True)
def _cli_clock(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    monkeypatch.setattr(keys_cli, "clock", clock)
    monkeypatch.delenv("TOLLGATE_SIGNER", raising=False)
    monkeypatch.delenv("TOLLGATE_KMS_KEY_ID", raising=False)
    monkeypatch.delenv("TOLLGATE_ACCESS_TOKEN_TTL", raising=False)


def run(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main([*GLOBAL, *argv], store=store)
    out, err = capsys.readouterr()
    return code, out, err


def run_json(store: Store, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code, out, err = run(store, capsys, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


def mint(signer: KeyRing, clock: FakeClock) -> str:
    token, _ = access_token.mint(
        signer,
        issuer=ISSUER,
        audience=AUDIENCE,
        sub="alice",
        client_id="web",
        scopes=["read"],
        now=clock.now(),
        ttl=LIFETIME,
    )
    return token


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def assert_valid(token: str, jwks: dict[str, Any], clock: FakeClock) -> None:
    kid = kid_of(token)
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    claims = jwt.decode(
        token,
        jwt.PyJWK(jwk).key,
        algorithms=["ES256"],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_iat": False},  # the test clock runs ahead of PyJWT's
    )
    assert claims["sub"] == "alice"
    assert authorize(token, Published(jwks), issuer=ISSUER, audience=AUDIENCE, now=clock.now())


def states(store: Store, capsys: pytest.CaptureFixture[str]) -> dict[str, str]:
    listing = run_json(store, capsys, "keys", "list", "--token-lifetime", str(LIFETIME))
    return {v["kid"]: v["state"] for v in listing}


def test_a_token_signed_before_a_rotation_still_validates(
    mode: str,
    new_signer: SignerMaker,
    store: Store,
    clock: FakeClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    container = new_signer()
    before = mint(container, clock)
    old = kid_of(before)

    published = run_json(store, capsys, "keys", "rotate", "--alg", "ES256")
    assert published["mode"] == mode
    (step,) = published["rotations"]
    assert (step["step"], step["key"]["state"]) == ("published", "next")
    new = step["key"]["kid"]
    assert new in {k["kid"] for k in new_signer().jwks()["keys"]}  # published before it signs

    code, _, err = run(store, capsys, "keys", "rotate", "--alg", "ES256")
    assert code == 2
    assert "verifiers may not have it yet" in err

    clock.advance(MIN_NEXT_AGE)  # every cached copy of the JWKS holds the next key by now
    activated = run_json(store, capsys, "keys", "rotate", "--alg", "ES256")["rotations"][0]
    assert (activated["step"], activated["key"]["kid"], activated["retired"]) == (
        "activated",
        new,
        [old],
    )

    fresh = new_signer()  # a container started after the rotation
    after = mint(fresh, clock)
    assert kid_of(after) == new
    jwks = fresh.jwks()
    assert_valid(before, jwks, clock)
    assert_valid(after, jwks, clock)
    rsa = {k.kid for k in store.keys.all() if k.alg == "RS256"}  # made by the JWKS request
    assert len(rsa) == 1
    assert states(store, capsys) == {old: "retired", new: "active"} | dict.fromkeys(rsa, "active")

    clock.advance(publish_window(LIFETIME))
    assert old not in {k["kid"] for k in fresh.jwks()["keys"]}
    assert states(store, capsys)[old] == "expired"


def test_kms_rotation_creates_a_kms_key_with_the_same_key_policy(
    store: Store,
    clock: FakeClock,
    kms: KMSClient,
    signing_keys: dict[str, str],
    capsys: pytest.CaptureFixture[str],
) -> None:
    KmsSigner(store, clock, lambda: kms, signing_keys).jwks()
    before = {k["KeyArn"] for k in kms.list_keys()["Keys"]}
    step = run_json(store, capsys, "keys", "rotate", "--alg", "RS256")["rotations"][0]
    assert step["step"] == "published"
    created = step["key"]["kms_key_id"]
    assert {k["KeyArn"] for k in kms.list_keys()["Keys"]} - before == {created}
    policy = kms.get_key_policy(KeyId=created, PolicyName="default")["Policy"]
    assert policy == kms.get_key_policy(KeyId=signing_keys["RS256"], PolicyName="default")["Policy"]
    spec = kms.describe_key(KeyId=created)["KeyMetadata"]
    assert (spec["KeySpec"], spec["KeyUsage"]) == ("RSA_2048", "SIGN_VERIFY")


def test_rotating_both_algorithms_at_once(
    store: Store, clock: FakeClock, capsys: pytest.CaptureFixture[str], new_signer: SignerMaker
) -> None:
    new_signer().jwks()
    done = run_json(store, capsys, "keys", "rotate")["rotations"]
    assert [(r["alg"], r["step"]) for r in done] == [("ES256", "published"), ("RS256", "published")]


def test_listing_never_shows_private_material(
    store: Store, capsys: pytest.CaptureFixture[str], new_signer: SignerMaker
) -> None:
    new_signer().jwks()
    secrets = [k.private_pem or k.private_ciphertext for k in store.keys.all()]
    code, text, _ = run(store, capsys, "keys", "list")
    assert code == 0
    assert text.splitlines()[0].split() == [
        "KID",
        "ALG",
        "STATE",
        "MODE",
        "CREATED",
        "ACTIVATED",
        "PUBLISHED_UNTIL",
    ]
    dumped = json.dumps(run_json(store, capsys, "keys", "list"))
    for secret in secrets:
        if secret:
            assert secret not in text
            assert secret not in dumped
    assert "private" not in dumped


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "rotate"], "give --signer envelope|kms"),
        (["keys", "rotate", "--signer", "envelope"], "give --kms-key-id"),
        (["keys", "rotate", "--signer", "kms", "--alg", "ES256"], "give --kms-key-id"),
        (["keys", "rotate", "--signer", "kms", "--kms-key-id", "k"], "give --alg too"),
        (["keys", "list", "--token-lifetime", "-1"], "cannot be negative"),
        (["--stage", "prod", "keys", "rotate", "--signer", "local"], "not for prod"),
    ],
)
def test_bad_input_exits_2_with_a_message(
    aws: None,
    store: Store,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    code, _, err = run(store, capsys, *argv)
    assert code == 2
    assert err.startswith("tollgate: ")
    assert message in err
    assert store.keys.all() == []


def test_an_empty_local_table_gets_its_first_keys(
    store: Store, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["--json", "--stage", "local", "--endpoint-url", "", "keys", "rotate"], store=store)
    out, err = capsys.readouterr()
    assert code == 0, err
    done = json.loads(out)
    assert done["mode"] == "local"
    assert [r["step"] for r in done["rotations"]] == ["first", "first"]
