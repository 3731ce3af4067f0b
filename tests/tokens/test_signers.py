"""The three signer modes behind one interface (DESIGN.md, keys and signing).

Every token is verified with PyJWT against the published JWKS, never with the signer's own
code; KMS is moto's, and the calls each mode makes are counted with botocore's events.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Any

import jwt
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chalicelib.clock import FakeClock
from chalicelib.ids import new_id
from chalicelib.stores.repository import Store
from chalicelib.stores.table import StoreUnavailable
from chalicelib.tokens import keys, kms_client, kms_signer
from chalicelib.tokens.envelope import EnvelopeSigner, unseal
from chalicelib.tokens.kms_signer import KmsSigner
from chalicelib.tokens.signer import KEY_CACHE_TTL, LocalSigner, SignerError, SignerUnavailable
from tests.tokens.conftest import LIFETIME, Calls, SignerMaker

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

ISSUER = "https://auth.example.test"
AUDIENCE = "https://api.example.test"


def claims(clock: FakeClock) -> dict[str, Any]:
    now = clock.now()
    return {
        "iss": ISSUER,
        "sub": "alice",
        "aud": AUDIENCE,
        "client_id": "web",
        "scope": "read",
        "iat": now,
        "exp": now + 300,
        "jti": new_id(),
    }


def verify(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """PyJWT, the published key of the token's kid, and only the algorithm that key names."""
    kid = jwt.get_unverified_header(token)["kid"]
    (jwk,) = [k for k in jwks["keys"] if k["kid"] == kid]
    key = jwt.PyJWK(jwk)
    decoded: dict[str, Any] = jwt.decode(
        token,
        key.key,
        algorithms=[jwk["alg"]],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"verify_iat": False},  # the tests' clock runs ahead of PyJWT's
    )
    return decoded


def _signature(token: str) -> bytes:
    part = token.rsplit(".", 1)[1]
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_each_mode_signs_what_pyjwt_verifies_with_the_published_key(
    new_signer: SignerMaker, clock: FakeClock, alg: str
) -> None:
    signer = new_signer()
    payload = claims(clock)
    token = signer.sign(payload, alg=alg, typ="at+jwt")
    header = jwt.get_unverified_header(token)
    assert header == {"alg": alg, "kid": header["kid"], "typ": "at+jwt"}
    assert verify(token, signer.jwks()) == payload
    if alg == "ES256":
        assert len(_signature(token)) == 64  # raw r || s (RFC 7518 3.4), not DER


def test_a_tampered_token_does_not_verify(new_signer: SignerMaker, clock: FakeClock) -> None:
    signer = new_signer()
    token = signer.sign(claims(clock), alg="ES256", typ="at+jwt")
    head, _, signature = token.split(".")
    other = signer.sign({**claims(clock), "sub": "mallory"}, alg="ES256", typ="at+jwt")
    forged = f"{head}.{other.split('.')[1]}.{signature}"
    with pytest.raises(jwt.InvalidSignatureError):
        verify(forged, signer.jwks())


def test_the_jwks_holds_one_public_key_per_algorithm(new_signer: SignerMaker) -> None:
    published = new_signer().jwks()["keys"]
    assert sorted(k["alg"] for k in published) == ["ES256", "RS256"]
    for jwk in published:
        assert set(jwk) <= {"kty", "crv", "x", "y", "n", "e", "kid", "alg", "use"}
        assert jwk["kid"] == keys.thumbprint(jwk)
        assert jwk["use"] == "sig"


def test_only_local_mode_keeps_a_clear_private_key(
    mode: str,
    new_signer: SignerMaker,
    store: Store,
    envelope_key: str,
    signing_keys: dict[str, str],
) -> None:
    new_signer().jwks()
    stored = store.keys.all()
    assert len(stored) == 2
    for key in stored:
        if mode == "local":
            assert key.private_pem.startswith("-----BEGIN PRIVATE KEY-----")
            assert key.private_ciphertext is None
            continue
        assert key.private_pem == ""
        if mode == "envelope":
            assert key.kms_key_id == envelope_key
            assert key.private_ciphertext
            assert b"PRIVATE KEY" not in base64.b64decode(key.private_ciphertext)
        else:
            assert key.kms_key_id == signing_keys[key.alg]
            assert key.private_ciphertext is None


def test_envelope_fifty_tokens_cost_no_kms_call(
    store: Store, clock: FakeClock, kms: KMSClient, envelope_key: str, calls: Calls
) -> None:
    signer = EnvelopeSigner(store, clock, lambda: kms, envelope_key, token_lifetime=LIFETIME)
    signer.sign(claims(clock), alg="ES256", typ="at+jwt")
    signer.sign(claims(clock), alg="RS256", typ="JWT")
    # Warm-up made and sealed both keys: one Encrypt each, and no Decrypt of a key we made.
    assert calls.counts == Counter({"Encrypt": 2})
    calls.reset()
    tokens = [
        signer.sign(claims(clock), alg=alg, typ="at+jwt")
        for _ in range(25)
        for alg in ("ES256", "RS256")
    ]
    clock.advance(KEY_CACHE_TTL + 1)  # the key list is re-read from the table, not from KMS
    tokens.append(signer.sign(claims(clock), alg="ES256", typ="at+jwt"))
    assert len(tokens) == 51
    assert calls.total == 0
    jwks = signer.jwks()
    assert all(verify(token, jwks)["sub"] == "alice" for token in tokens)


def test_envelope_a_new_container_decrypts_each_key_once(
    store: Store, clock: FakeClock, kms: KMSClient, envelope_key: str, calls: Calls
) -> None:
    EnvelopeSigner(store, clock, lambda: kms, envelope_key).jwks()
    calls.reset()
    container = EnvelopeSigner(store, clock, lambda: kms, envelope_key)
    for _ in range(10):
        for alg in ("ES256", "RS256"):
            container.sign(claims(clock), alg=alg, typ="at+jwt")
    assert calls.counts == Counter({"Decrypt": 2})


def test_envelope_ciphertext_is_bound_to_its_kid(
    store: Store, clock: FakeClock, kms: KMSClient, envelope_key: str
) -> None:
    EnvelopeSigner(store, clock, lambda: kms, envelope_key).jwks()
    es, rs = sorted(store.keys.all(), key=lambda k: k.alg)
    assert unseal(es, kms).startswith(b"-----BEGIN PRIVATE KEY-----")
    swapped = dataclasses.replace(rs, private_ciphertext=es.private_ciphertext)
    with pytest.raises(SignerError, match="Decrypt"):
        unseal(swapped, kms)


def test_kms_mode_signs_each_token_with_one_kms_call(
    store: Store, clock: FakeClock, kms: KMSClient, signing_keys: dict[str, str], calls: Calls
) -> None:
    signer = KmsSigner(store, clock, lambda: kms, signing_keys)
    jwks = signer.jwks()
    assert calls.counts == Counter({"GetPublicKey": 2})
    calls.reset()
    tokens = [signer.sign(claims(clock), alg=alg, typ="at+jwt") for alg in ("ES256", "RS256") * 5]
    assert calls.counts == Counter({"Sign": 10})
    assert signer.jwks() == jwks
    assert calls.counts == Counter({"Sign": 10})
    assert all(verify(token, jwks)["sub"] == "alice" for token in tokens)


def test_kms_mode_refuses_a_key_that_does_not_fit_the_algorithm(
    store: Store, clock: FakeClock, kms: KMSClient, signing_keys: dict[str, str]
) -> None:
    swapped = {"ES256": signing_keys["RS256"], "RS256": signing_keys["ES256"]}
    signer = KmsSigner(store, clock, lambda: kms, swapped)
    with pytest.raises(SignerError, match="cannot sign ES256"):
        signer.sign(claims(clock), alg="ES256", typ="at+jwt")
    assert store.keys.all() == []


def test_kms_mode_needs_a_configured_key(store: Store, clock: FakeClock, kms: KMSClient) -> None:
    with pytest.raises(SignerError, match="no KMS signing key configured for RS256"):
        KmsSigner(store, clock, lambda: kms, {}).sign(claims(clock), alg="RS256", typ="JWT")


def test_a_signer_never_picks_a_key_of_another_mode(
    store: Store, clock: FakeClock, kms: KMSClient, envelope_key: str
) -> None:
    EnvelopeSigner(store, clock, lambda: kms, envelope_key).jwks()
    sealed = {k.kid for k in store.keys.all()}
    token = LocalSigner(store, clock).sign(claims(clock), alg="ES256", typ="at+jwt")
    kid = jwt.get_unverified_header(token)["kid"]
    assert kid not in sealed
    (made,) = [k for k in store.keys.all() if k.kid == kid]
    assert made.private_pem.startswith("-----BEGIN PRIVATE KEY-----")


# -- KMS details that moto does not cover: stubbed answers --------------------------------


def _stubbed() -> tuple[KMSClient, Stubber]:
    client = kms_client.make_client("us-east-1")
    return client, Stubber(client)


def test_kms_signs_a_message_over_4_kb_as_its_digest() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    data = b"x" * (kms_signer.MAX_RAW_MESSAGE + 1)
    client, stub = _stubbed()
    stub.add_response(
        "sign",
        {"Signature": private.sign(data, ec.ECDSA(hashes.SHA256())), "KeyId": "k"},
        {
            "KeyId": "k",
            "Message": hashlib.sha256(data).digest(),
            "MessageType": "DIGEST",
            "SigningAlgorithm": "ECDSA_SHA_256",
        },
    )
    with stub:
        raw = kms_signer.sign(client, "k", "ES256", data)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    private.public_key().verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    ("code", "raised"),
    [
        ("ThrottlingException", SignerUnavailable),
        ("KMSInternalException", SignerUnavailable),
        ("AccessDeniedException", SignerError),
        ("DisabledException", SignerError),
    ],
)
def test_kms_errors_become_the_signers_own(code: str, raised: type[Exception]) -> None:
    client, stub = _stubbed()
    stub.add_client_error("sign", service_error_code=code)
    with stub, pytest.raises(raised, match=code):
        kms_signer.sign(client, "k", "ES256", b"data")


def test_an_unavailable_kms_is_answered_like_an_unavailable_store() -> None:
    assert issubclass(SignerUnavailable, StoreUnavailable)  # the adapter's 503 covers it


# -- DER to JWS ----------------------------------------------------------------------------


def test_der_signature_becomes_64_bytes_with_short_integers_padded() -> None:
    raw = keys.ecdsa_raw(encode_dss_signature(1, 2**255 + 7))
    assert raw == (1).to_bytes(32, "big") + (2**255 + 7).to_bytes(32, "big")


def test_der_signature_with_an_integer_too_large_is_refused() -> None:
    with pytest.raises(ValueError, match="larger than the curve"):
        keys.ecdsa_raw(encode_dss_signature(2**256, 1))


def test_a_stage_that_changes_modes_signs_with_a_key_of_its_new_mode(
    store: Store,
    clock: FakeClock,
    kms: KMSClient,
    envelope_key: str,
    signing_keys: dict[str, str],
) -> None:
    """The envelope keys cannot sign in kms mode: the kms signer registers its own, and
    the old keys stay published (active until rotated out), so their tokens still verify."""
    before = EnvelopeSigner(store, clock, lambda: kms, envelope_key)
    old_token = before.sign(claims(clock), alg="ES256", typ="at+jwt")
    after = KmsSigner(store, clock, lambda: kms, signing_keys)
    new_token = after.sign(claims(clock), alg="ES256", typ="at+jwt")
    assert (
        jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    )
    jwks = after.jwks()
    assert verify(old_token, jwks)["sub"] == verify(new_token, jwks)["sub"] == "alice"
    assert sorted(k.alg for k in store.keys.all() if k.kms_key_id in signing_keys.values()) == [
        "ES256",
        "RS256",
    ]
