"""KMS signer: every signature is made by a KMS asymmetric key; the private key never leaves.

ES256 uses an ECC_NIST_P256 key (ECDSA_SHA_256), RS256 an RSA key (RSASSA_PKCS1_V1_5_SHA_256).
KMS returns ECDSA signatures DER-encoded; JWS wants the raw 64-byte r || s (RFC 7518 3.4).
A key record holds the KMS key's ARN and its public JWK (from GetPublicKey), so publishing
the JWKS needs no KMS call; each token costs one kms:Sign.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.clock import Clock
from chalicelib.stores.models import SigningKey
from chalicelib.stores.repository import Store
from chalicelib.tokens import keys
from chalicelib.tokens.kms_client import errors
from chalicelib.tokens.signer import KEY_CACHE_TTL, MAX_TOKEN_LIFETIME, KeyRing, SignerError

if TYPE_CHECKING:
    from mypy_boto3_kms.client import KMSClient
    from mypy_boto3_kms.literals import KeySpecType, SigningAlgorithmSpecType

# alg -> (the KeySpec a new key gets, the KMS signing algorithm)
SPECS: dict[str, tuple[KeySpecType, SigningAlgorithmSpecType]] = {
    "ES256": ("ECC_NIST_P256", "ECDSA_SHA_256"),
    "RS256": ("RSA_2048", "RSASSA_PKCS1_V1_5_SHA_256"),
}
MAX_RAW_MESSAGE = 4096  # KMS Sign's limit for MessageType=RAW


def register(kms: KMSClient, kms_key_id: str, alg: str, now: int, state: str) -> SigningKey:
    """A key record for an existing KMS key: its ARN and public JWK, after checking it fits."""
    _, algorithm = SPECS[alg]
    with errors("GetPublicKey"):
        out = kms.get_public_key(KeyId=kms_key_id)
    if out.get("KeyUsage") != "SIGN_VERIFY" or algorithm not in out.get("SigningAlgorithms", []):
        raise SignerError(f"KMS key {kms_key_id} cannot sign {alg} ({algorithm})")
    try:
        jwk = keys.public_jwk_from_der(out["PublicKey"], alg)
    except keys.KeyMismatch as exc:
        raise SignerError(f"KMS key {kms_key_id}: {exc}") from None
    return SigningKey(
        kid=jwk["kid"],
        alg=alg,
        public_jwk=jwk,
        private_pem="",
        state=state,
        created_at=now,
        kms_key_id=_arn(out.get("KeyId", ""), kms_key_id),
    )


def _arn(answered: str, asked: str) -> str:
    """The key's ARN: KMS answers with it (the record pins the key even if `asked` was an
    alias); otherwise what was asked."""
    return answered if answered.startswith("arn:") else asked


def create_key(kms: KMSClient, alg: str, *, like: str | None, description: str) -> str:
    """A new KMS signing key for `alg`; its key policy is copied from the key `like`, so the
    functions that may sign with the key being replaced may sign with this one. Its ARN."""
    key_spec, _ = SPECS[alg]
    kwargs: dict[str, Any] = {
        "KeySpec": key_spec,
        "KeyUsage": "SIGN_VERIFY",
        "Description": description,
        "Tags": [{"TagKey": "tollgate:purpose", "TagValue": "signing"}],
    }
    if like is not None:
        with errors("GetKeyPolicy"):
            kwargs["Policy"] = kms.get_key_policy(KeyId=like, PolicyName="default")["Policy"]
    with errors("CreateKey"):
        arn: str = kms.create_key(**kwargs)["KeyMetadata"]["Arn"]
    return arn


def sign(kms: KMSClient, kms_key_id: str, alg: str, data: bytes) -> bytes:
    """The JWS signature of `data` by the KMS key (raw r || s for ES256)."""
    _, algorithm = SPECS[alg]
    message, message_type = data, "RAW"
    if len(data) > MAX_RAW_MESSAGE:
        # KMS hashes RAW messages itself, up to 4 KB; beyond that we send the SHA-256.
        message, message_type = hashlib.sha256(data).digest(), "DIGEST"
    with errors("Sign"):
        out = kms.sign(
            KeyId=kms_key_id,
            Message=message,
            MessageType=message_type,  # type: ignore[arg-type]
            SigningAlgorithm=algorithm,
        )
    signature = out["Signature"]
    return keys.ecdsa_raw(signature) if alg == "ES256" else signature


class KmsSigner(KeyRing):
    def __init__(
        self,
        store: Store,
        clock: Clock,
        kms: Callable[[], KMSClient],
        signing_keys: Mapping[str, str],
        *,
        ttl: int = KEY_CACHE_TTL,
        token_lifetime: int = MAX_TOKEN_LIFETIME,
    ) -> None:
        """`signing_keys`: alg -> KMS key id or ARN, used when the table has no active key."""
        super().__init__(store, clock, ttl=ttl, token_lifetime=token_lifetime)
        self._kms = kms
        self._signing_keys = dict(signing_keys)

    def _create(self, alg: str) -> SigningKey:
        kms_key_id = self._signing_keys.get(alg)
        if not kms_key_id:
            raise SignerError(f"no KMS signing key configured for {alg}")
        return register(self._kms(), kms_key_id, alg, self._clock.now(), state="active")

    def _usable(self, key: SigningKey) -> bool:
        return bool(key.kms_key_id) and not key.private_ciphertext and not key.private_pem

    def _signature(self, key: SigningKey, data: bytes) -> bytes:
        if not key.kms_key_id:
            raise SignerError(f"key {key.kid} has no KMS key (made by another mode?)")
        return sign(self._kms(), key.kms_key_id, key.alg, data)
