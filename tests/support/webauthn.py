"""A software WebAuthn authenticator for tests without a browser: it answers the options a
page carries (`data-passkey-options`) as navigator.credentials.create()/get() would, as the
JSON that /static/passkey.js posts. Knobs make the wrong answers the server must refuse: no
user verification, another origin or RP ID, a counter that goes back.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

UP, UV, BE, BS, AT = 0x01, 0x04, 0x08, 0x10, 0x40


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftAuthenticator:
    origin: str
    synced: bool = False  # backup eligible and backed up (BE, BS): a synced passkey
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    user_handle: bytes = b""
    counter: int = 0

    def _flags(self, verified: bool) -> int:
        flags = UP | (UV if verified else 0)
        return flags | (BE | BS if self.synced else 0)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        data = {"type": kind, "challenge": challenge, "origin": origin or self.origin}
        return json.dumps({**data, "crossOrigin": False}).encode()

    def create(
        self, options: dict[str, Any], *, verified: bool = True, origin: str | None = None
    ) -> str:
        self.user_handle = unb64url(options["user"]["id"])
        numbers = self.key.public_key().public_numbers()
        cose = {1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32), -3: numbers.y.to_bytes(32)}
        auth_data = (
            hashlib.sha256(options["rp"]["id"].encode()).digest()
            + bytes([self._flags(verified) | AT])
            + struct.pack(">I", self.counter)
            + bytes(16)
            + struct.pack(">H", len(self.credential_id))
            + self.credential_id
            + cbor2.dumps(cose)
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        response = {
            "clientDataJSON": b64url(client_data),
            "attestationObject": b64url(attestation),
            "transports": ["internal"],
        }
        return self._credential(response)

    def get(
        self,
        options: dict[str, Any],
        *,
        verified: bool = True,
        origin: str | None = None,
        rp_id: str | None = None,
        counter: int | None = None,
    ) -> str:
        self.counter = self.counter + 1 if counter is None else counter
        auth_data = (
            hashlib.sha256((rp_id or options["rpId"]).encode()).digest()
            + bytes([self._flags(verified)])
            + struct.pack(">I", self.counter)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signed = auth_data + hashlib.sha256(client_data).digest()
        response = {
            "clientDataJSON": b64url(client_data),
            "authenticatorData": b64url(auth_data),
            "signature": b64url(self.key.sign(signed, ec.ECDSA(hashes.SHA256()))),
            "userHandle": b64url(self.user_handle),
        }
        return self._credential(response)

    def _credential(self, response: dict[str, Any]) -> str:
        return json.dumps(
            {
                "id": b64url(self.credential_id),
                "rawId": b64url(self.credential_id),
                "type": "public-key",
                "response": response,
                "clientExtensionResults": {},
                "authenticatorAttachment": "platform",
            }
        )
