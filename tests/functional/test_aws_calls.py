"""AWS calls per flow: exact budgets, counted with botocore's event hooks on DynamoDB (moto)
and KMS. They are the cost and the latency of each request (DESIGN.md, cold start and cost).

"Warm" means what a Lambda container has after its first requests: the signing keys are
loaded and the client's registration is cached (TOLLGATE_CLIENT_CACHE_TTL, 60 s).
The README's table "AWS calls per request" is this file's numbers.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from chalice.test import Client as ChaliceClient
from moto import mock_aws

from app import app
from chalicelib import deps as wiring
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.dynamodb import DynamoTable, make_client
from chalicelib.stores.models import Client
from chalicelib.stores.repository import Store
from chalicelib.stores.schema import table_definition
from chalicelib.tokens.signer import LocalSigner
from tests.functional.flows import authorize_path, finish, to_client, token
from tests.support.oauth import REDIRECT, SECRET, Browser, basic, pkce_pair, seed, settings


@dataclass
class Calls:
    seen: Counter[str]

    def __call__(self, model: Any, **kwargs: Any) -> None:
        self.seen[model.name] += 1

    def during(self, work: Any) -> dict[str, int]:
        self.seen.clear()
        work()
        return dict(self.seen)


@dataclass
class Running:
    deps: Deps
    clock: FakeClock
    browser: Browser
    calls: Calls


@pytest.fixture
def running() -> Iterator[Running]:
    with mock_aws():
        client = make_client("us-east-1", None)
        client.create_table(**table_definition("calls"))
        clock = FakeClock()
        store = Store(DynamoTable(client, "calls", clock))
        config = settings()
        deps = Deps(config, store, LocalSigner(store, clock), clock)
        seed(deps)
        for client_id, grant_types in (
            ("rt", ["authorization_code", "refresh_token"]),
            ("job", ["client_credentials"]),
        ):
            store.clients.create(
                Client(
                    client_id=client_id,
                    name=client_id,
                    client_type="confidential",
                    auth_method="client_secret_basic",
                    redirect_uris=[REDIRECT],
                    grant_types=grant_types,
                    scopes=["openid", "offline_access", "profile", "notes:read"],
                    secret_hash=digest(SECRET),
                    may_introspect=client_id == "job",
                )
            )
        calls = Calls(Counter())
        client.meta.events.register("before-call.dynamodb.*", calls)
        wiring.override(deps)
        try:
            with ChaliceClient(app) as http:
                yield Running(deps, clock, Browser(http), calls)
        finally:
            wiring.override(None)


def _client_credentials(run: Running) -> Any:
    answer = token(
        run.browser,
        {"grant_type": "client_credentials", "scope": "notes:read"},
        basic("job", SECRET),
    )
    assert answer.status == 200, answer.text
    return answer.json()


def _code(run: Running) -> tuple[str, str]:
    verifier, challenge = pkce_pair()
    path = authorize_path(client_id="rt", scope="openid offline_access", challenge=challenge)
    return to_client(finish(run.browser, run.browser.get(path)))["code"], verifier


def _exchange(run: Running, code: str, verifier: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    answer = token(run.browser, form, basic("rt", SECRET))
    assert answer.status == 200, answer.text
    return answer.json()


def _refresh(run: Running, refresh_token: str) -> Any:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    answer = token(run.browser, form, basic("rt", SECRET))
    assert answer.status == 200, answer.text
    return answer.json()


def _post(run: Running, path: str, form: dict[str, str], client_id: str) -> Any:
    answer = run.browser.post_form(
        path, form, headers={"Authorization": basic(client_id, SECRET)}, cookies=False
    )
    assert answer.status == 200, answer.text
    return answer.json() if answer.body else {}


def test_client_credentials_warm_makes_no_aws_call(running: Running) -> None:
    cold = running.calls.during(lambda: _client_credentials(running))
    # First request of a container: the client's registration, the signing keys (a Query,
    # and on a brand-new table the PutItem that creates the first key).
    assert cold.get("GetItem") == 1
    warm = running.calls.during(lambda: _client_credentials(running))
    assert warm == {}


def test_client_registrations_are_read_again_after_the_cache_ttl(running: Running) -> None:
    _client_credentials(running)
    running.clock.advance(running.deps.settings.client_cache_ttl)
    # The client's registration, and the registered resources (one Query of their partition).
    assert running.calls.during(lambda: _client_credentials(running)) == {
        "GetItem": 1,
        "Query": 1,
    }


def test_code_exchange_reads_the_code_and_writes_one_transaction(running: Running) -> None:
    _exchange(running, *_code(running))  # warms the client cache and the keys
    code, verifier = _code(running)
    calls = running.calls.during(lambda: _exchange(running, code, verifier))
    assert calls == {"GetItem": 1, "TransactWriteItems": 1}


def test_refresh_reads_the_token_and_writes_one_transaction_checking_the_grant(
    running: Running,
) -> None:
    first = _exchange(running, *_code(running))
    calls = running.calls.during(lambda: _refresh(running, first["refresh_token"]))
    assert calls == {"GetItem": 1, "TransactWriteItems": 1}


def test_revoking_a_refresh_token(running: Running) -> None:
    tokens = _exchange(running, *_code(running))
    form = {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}
    calls = running.calls.during(lambda: _post(running, "/revoke", form, "rt"))
    # The refresh token's record, then the grant's revocation.
    assert calls == {"GetItem": 1, "UpdateItem": 1}


def test_revoking_an_access_token(running: Running) -> None:
    tokens = _exchange(running, *_code(running))
    form = {"token": tokens["access_token"], "token_type_hint": "access_token"}
    calls = running.calls.during(lambda: _post(running, "/revoke", form, "rt"))
    assert calls == {"PutItem": 1}  # the JTI# record; the JWT is verified in-process


def test_introspecting_an_access_token(running: Running) -> None:
    tokens = _exchange(running, *_code(running))
    _client_credentials(running)  # warms the introspecting client's registration
    form = {"token": tokens["access_token"]}
    answer: dict[str, Any] = {}
    calls = running.calls.during(lambda: answer.update(_post(running, "/introspect", form, "job")))
    assert answer["active"] is True
    assert calls == {"GetItem": 2}  # the grant and the jti's revocation record


def test_a_dpop_proof_costs_one_put_item(running: Running) -> None:
    """SECURITY.md 45 and README "DPoP": the proof's jti, one create-only PutItem, on the
    real DynamoDB API (moto); a warm client_credentials grant makes no other call."""
    from tests.support.dpop import dpop_key

    _client_credentials(running)  # warm: keys and client cached
    key = dpop_key()

    def with_proof() -> Any:
        proof = key.proof("POST", "https://auth.example.test/token", running.clock.now())
        answer = running.browser.post_form(
            "/token",
            {"grant_type": "client_credentials", "scope": "notes:read"},
            headers={"Authorization": basic("job", SECRET), "DPoP": proof},
            cookies=False,
        )
        assert answer.status == 200, answer.text
        assert answer.json()["token_type"] == "DPoP"

    assert running.calls.during(with_proof) == {"PutItem": 1}


def _push(run: Running) -> str:
    _verifier, challenge = pkce_pair()
    form = {
        "response_type": "code",
        "client_id": "rt",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    answer = run.browser.post_form(
        "/par", form, headers={"Authorization": basic("rt", SECRET)}, cookies=False
    )
    assert answer.status == 201, answer.text
    return str(answer.json()["request_uri"])


def test_a_pushed_request_is_one_put_and_its_use_one_update(running: Running) -> None:
    _push(running)  # warms the client cache
    uris: list[str] = []
    pushing = running.calls.during(lambda: uris.append(_push(running)))
    path = f"/authorize?client_id=rt&request_uri={uris[0]}"
    using = running.calls.during(lambda: running.browser.get(path, cookies=False))
    assert pushing == {"PutItem": 1}
    # Taking the request_uri (one conditional UpdateItem), then what a plain request costs:
    # the source's counter of pending authorizations and the pending authorization itself.
    assert using == {"UpdateItem": 2, "PutItem": 1}
