"""Authorizer fixtures: the issuer's test keys (made once) and key sources over them."""

from __future__ import annotations

import pytest

from chalicelib.authorizer.keys import LocalKeys
from tests.authorizer.tokens import KeyPair


@pytest.fixture(scope="session")
def ec_key() -> KeyPair:
    return KeyPair.ec("ec-1")


@pytest.fixture(scope="session")
def rsa_key() -> KeyPair:
    return KeyPair.rsa("rsa-1")


@pytest.fixture
def keys(ec_key: KeyPair, rsa_key: KeyPair) -> LocalKeys:
    """The issuer's published keys, as an in-process key source."""
    return LocalKeys(lambda: ec_key.jwks(rsa_key))
