"""Tollgate's own private keys load without cryptography's RSA re-validation (~40 ms each
per container): only those, read back from its own table (chalicelib/tokens/signer.py)."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib.clock import FakeClock
from tests.tokens.conftest import SignerMaker
from tests.tokens.test_signers import claims, verify


@pytest.mark.parametrize("mode", ["local", "envelope"])  # the modes that hold a private key
def test_own_keys_load_once_without_rsa_revalidation_and_still_sign(
    new_signer: SignerMaker, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_signer().sign(claims(clock), alg="RS256", typ="at+jwt")  # the keys exist
    real = serialization.load_pem_private_key
    calls: list[dict[str, Any]] = []

    def spy(data: bytes, password: bytes | None, **kwargs: Any) -> Any:
        calls.append(kwargs)
        return real(data, password, **kwargs)

    monkeypatch.setattr(serialization, "load_pem_private_key", spy)
    signer = new_signer()  # a fresh container
    for alg in ("RS256", "ES256", "RS256"):
        token = signer.sign(claims(clock), alg=alg, typ="at+jwt")
        assert verify(token, signer.jwks())["sub"] == "alice"
    assert calls == [{"unsafe_skip_rsa_key_validation": True}] * 2  # once per key
