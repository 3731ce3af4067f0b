"""Functional fixtures: an in-memory Tollgate per test, driven through chalice.test.Client."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib import deps as wiring
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.authorizer.tokens import KeyPair, StaticSigner
from tests.functional.flows import Authorized, Unchanged, sign_in
from tests.support.oauth import ISSUER, Browser, tollgate
from tests.support.webauthn import SoftAuthenticator

Env = tuple[Deps, FakeClock, ChaliceClient]


@pytest.fixture
def env() -> Iterator[Env]:
    with tollgate() as running:
        yield running


@pytest.fixture
def deps(env: Env) -> Deps:
    return env[0]


@pytest.fixture
def clock(env: Env) -> FakeClock:
    return env[1]


@pytest.fixture
def http(env: Env) -> ChaliceClient:
    return env[2]


@pytest.fixture
def browser(http: ChaliceClient) -> Browser:
    return Browser(http)


@pytest.fixture
def new_browser(http: ChaliceClient) -> Callable[[], Browser]:
    """Another browser on the same server, with its own (empty) cookie jar."""
    return lambda: Browser(http)


@pytest.fixture
def signed_in(browser: Browser) -> Authorized:
    """alice signed in with `browser` and consented "openid profile" for "web" (with PKCE)."""
    return sign_in(browser)


@pytest.fixture
def test_keys(deps: Deps) -> Iterator[tuple[KeyPair, KeyPair]]:
    """The issuer signs with the test's own keys (EC, RSA), so attacks can sign with them."""
    ec_key, rsa_key = KeyPair.ec("func-ec"), KeyPair.rsa("func-rsa")
    wiring.override(dataclasses.replace(deps, signer=StaticSigner(ec_key, rsa_key)))
    yield ec_key, rsa_key


@pytest.fixture
def unchanged(deps: Deps) -> Unchanged:
    """Snapshot the table now; call `.check()` after the request, `.mark()` to re-snapshot."""
    return Unchanged(deps)


@pytest.fixture
def device(browser: Browser) -> SoftAuthenticator:
    """alice's registered passkey (device-bound); the browser then forgets her session."""
    from tests.functional.passkey_flows import register

    authenticator = SoftAuthenticator(ISSUER)
    added = register(browser, authenticator)
    assert added.status == 200 and "Passkey added." in added.text, added.text
    browser.cookies.clear()
    return authenticator
