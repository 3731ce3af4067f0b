"""One in-memory Tollgate per property test (the harness of tests/support), reused across
its examples: each example is judged against the state the one before it left."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.deps import Deps
from chalicelib.stores.models import Client
from tests.authorizer.tokens import KeyPair
from tests.functional.flows import Unchanged
from tests.support.oauth import Browser, tollgate

KEY = KeyPair.ec("prop-ec")


@dataclass
class Running:
    deps: Deps
    http: ChaliceClient
    browser: Browser
    unchanged: Unchanged


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    with tollgate() as (deps, _clock, http):
        deps.store.clients.create(
            Client(
                client_id="pkj",
                name="Key client",
                client_type="confidential",
                auth_method="private_key_jwt",
                redirect_uris=[],
                grant_types=["client_credentials"],
                scopes=["notes:read"],
                jwks={"keys": [KEY.jwk]},
            )
        )
        yield Running(deps, http, Browser(http), Unchanged(deps))
