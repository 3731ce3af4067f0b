"""Functional fixtures: an in-memory Tollgate per test, driven through chalice.test.Client."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from tests.functional.flows import Authorized, Unchanged, sign_in
from tests.support.oauth import Browser, tollgate

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
def unchanged(deps: Deps) -> Unchanged:
    """Snapshot the table now; call `.check()` after the request, `.mark()` to re-snapshot."""
    return Unchanged(deps)
