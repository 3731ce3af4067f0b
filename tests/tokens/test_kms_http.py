"""The lean KMS client the Lambda functions sign with (deps.make_signer): the envelope and
kms signers work through it against moto's KMS over HTTP, and it answers as botocore's
client does (blobs as bytes, errors as the signers' own)."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import jwt
import pytest

from chalicelib.clock import FakeClock
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.repository import Store
from chalicelib.tokens import kms_client
from chalicelib.tokens.envelope import EnvelopeSigner, encryption_context, unseal
from chalicelib.tokens.kms_http import KmsHttpClient
from chalicelib.tokens.kms_signer import KmsSigner
from chalicelib.tokens.signer import SignerError
from tests.support.tables import TEST_READ_TIMEOUT, moto_server

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient


@dataclass
class Kms:
    lean: KMSClient  # the production client, typed as the signers take it
    botocore: KMSClient  # botocore's, against the same server: key set-up and parity


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Kms]:
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_CREDENTIAL_EXPIRATION", raising=False)
    with moto_server() as url:
        lean = KmsHttpClient("us-east-1", url, read_timeout=TEST_READ_TIMEOUT)
        yield Kms(cast("KMSClient", lean), kms_client.make_client("us-east-1", url))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(int(time.time()))  # PyJWT checks exp against real time


def _key(kms: Kms, **kwargs: Any) -> str:
    arn: str = kms.botocore.create_key(**kwargs)["KeyMetadata"]["Arn"]
    return arn


def _verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    header = jwt.get_unverified_header(token)
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims: dict[str, Any] = jwt.decode(
        token, jwt.PyJWK(jwk).key, algorithms=[jwk["alg"]], options={"verify_aud": False}
    )
    return claims


def _claims(clock: FakeClock) -> dict[str, Any]:
    return {"iss": "https://a.test", "sub": "alice", "iat": clock.now(), "exp": clock.now() + 60}


def test_the_envelope_signer_seals_and_a_new_container_unseals(kms: Kms, clock: FakeClock) -> None:
    store = Store(MemoryTable(clock))
    sealing = _key(kms, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
    first = EnvelopeSigner(store, clock, lambda: kms.lean, sealing)  # Encrypt
    token = first.sign(_claims(clock), alg="ES256", typ="at+jwt")
    again = EnvelopeSigner(store, clock, lambda: kms.lean, sealing)  # Decrypt, new container
    other = again.sign(_claims(clock), alg="ES256", typ="at+jwt")
    jwks = again.jwks()
    assert _verify(token, jwks)["sub"] == _verify(other, jwks)["sub"] == "alice"
    assert jwt.get_unverified_header(token)["kid"] == jwt.get_unverified_header(other)["kid"]
    # botocore's client opens what the lean one sealed: the same request, the same bytes.
    for key in store.keys.all():
        assert unseal(key, kms.botocore) == unseal(key, kms.lean)
        assert unseal(key, kms.lean).startswith(b"-----BEGIN PRIVATE KEY-----")


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_the_kms_signer_signs_through_it(kms: Kms, clock: FakeClock, alg: str) -> None:
    specs = {"ES256": "ECC_NIST_P256", "RS256": "RSA_2048"}
    keys = {a: _key(kms, KeySpec=spec, KeyUsage="SIGN_VERIFY") for a, spec in specs.items()}
    signer = KmsSigner(Store(MemoryTable(clock)), clock, lambda: kms.lean, keys)  # GetPublicKey
    token = signer.sign(_claims(clock), alg=alg, typ="JWT")  # Sign
    assert _verify(token, signer.jwks())["sub"] == "alice"


def test_blobs_come_back_as_the_bytes_botocore_gives(kms: Kms) -> None:
    key = _key(kms, KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT")
    context = encryption_context("kid-1")
    sealed = kms.lean.encrypt(KeyId=key, Plaintext=b"\x00\xffsecret", EncryptionContext=context)
    assert isinstance(sealed["CiphertextBlob"], bytes)
    opened = kms.botocore.decrypt(
        CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext=context
    )
    assert opened["Plaintext"] == b"\x00\xffsecret"
    both = [
        client.decrypt(CiphertextBlob=sealed["CiphertextBlob"], EncryptionContext=context)
        for client in (kms.lean, kms.botocore)
    ]
    assert both[0]["Plaintext"] == both[1]["Plaintext"] == b"\x00\xffsecret"
    assert both[0]["KeyId"] == both[1]["KeyId"]
    signing = _key(kms, KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")
    public = [
        client.get_public_key(KeyId=signing)["PublicKey"] for client in (kms.lean, kms.botocore)
    ]
    assert public[0] == public[1] and isinstance(public[0], bytes)
    assert base64.b64encode(public[0])  # DER bytes, not the base64 text


def test_kms_errors_become_the_signers_own(kms: Kms, clock: FakeClock) -> None:
    unknown = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-4000-8000-000000000000"
    signer = KmsSigner(Store(MemoryTable(clock)), clock, lambda: kms.lean, {"ES256": unknown})
    with pytest.raises(SignerError, match="KMS GetPublicKey: NotFoundException"):
        signer.sign(_claims(clock), alg="ES256", typ="JWT")
