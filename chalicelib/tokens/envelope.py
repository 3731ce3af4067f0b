"""Envelope signer: Tollgate's own private keys, stored encrypted under a KMS key.

A key pair is generated here; its PKCS#8 PEM is encrypted with KMS Encrypt under the stage's
symmetric KMS key and only the ciphertext is stored (SigningKey.private_ciphertext). Each
container decrypts a key once, on its first signature, and keeps it in memory: signing a
token costs no KMS call.

Why KMS Encrypt rather than a generated data key: a PEM is at most about 1.7 KB (RSA-2048),
well inside Encrypt's 4 KB, so KMS wraps it directly. That is one call to seal and one to
open, no local AES code to get wrong, and the encryption context binds each ciphertext to
its kid: a ciphertext copied onto another key record does not decrypt, and CloudTrail shows
which key was opened.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.tokens import keys
from chalicelib.tokens.kms_client import errors
from chalicelib.tokens.signer import (
    KEY_CACHE_TTL,
    MAX_TOKEN_LIFETIME,
    PrivateKeyRing,
    SignerError,
)

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient

PURPOSE = "tollgate-signing-key"


def encryption_context(kid: str) -> dict[str, str]:
    # The IAM policy of the deployed function allows Encrypt/Decrypt only with this purpose.
    return {"purpose": PURPOSE, "kid": kid}


def seal(key: SigningKey, kms: KMSClient, kms_key_id: str) -> SigningKey:
    """The key with its private PEM encrypted under `kms_key_id`, and no clear PEM left."""
    if not key.private_pem:
        raise SignerError(f"key {key.kid} has no private key to seal")
    with errors("Encrypt"):
        out = kms.encrypt(
            KeyId=kms_key_id,
            Plaintext=key.private_pem.encode("ascii"),
            EncryptionContext=encryption_context(key.kid),
        )
    return dataclasses.replace(
        key,
        private_pem="",
        private_ciphertext=base64.b64encode(out["CiphertextBlob"]).decode("ascii"),
        kms_key_id=out.get("KeyId") or kms_key_id,
    )


def unseal(key: SigningKey, kms: KMSClient) -> bytes:
    """The key's private PEM, decrypted by KMS."""
    if not key.private_ciphertext:
        raise SignerError(f"key {key.kid} has no encrypted private key (made by another mode?)")
    request: dict[str, Any] = {
        "CiphertextBlob": base64.b64decode(key.private_ciphertext),
        "EncryptionContext": encryption_context(key.kid),
    }
    if key.kms_key_id:
        request["KeyId"] = key.kms_key_id  # decrypt only with the key that sealed it
    with errors("Decrypt"):
        out = kms.decrypt(**request)
    return out["Plaintext"]


def generate(alg: str, now: int, kms: KMSClient, kms_key_id: str, state: str) -> SigningKey:
    """A new key pair, sealed: what the envelope signer and `tollgate keys rotate` store."""
    return seal(keys.generate(alg, now, state=state), kms, kms_key_id)


class EnvelopeSigner(PrivateKeyRing):
    def __init__(
        self,
        store: Store,
        clock: Clock,
        kms: Callable[[], KMSClient],
        kms_key_id: str,
        *,
        ttl: int = KEY_CACHE_TTL,
        token_lifetime: int = MAX_TOKEN_LIFETIME,
    ) -> None:
        super().__init__(store, clock, ttl=ttl, token_lifetime=token_lifetime)
        self._kms = kms
        self._kms_key_id = kms_key_id

    def _create(self, alg: str) -> SigningKey:
        clear = keys.generate(alg, self._clock.now())
        self._load(clear, clear.private_pem.encode("ascii"))  # no Decrypt for a key we made
        return seal(clear, self._kms(), self._kms_key_id)

    def _usable(self, key: SigningKey) -> bool:
        return bool(key.private_ciphertext)

    def _pem(self, key: SigningKey) -> bytes:
        return unseal(key, self._kms())
