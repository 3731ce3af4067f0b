"""The authorizers' revocation check and revoked access tokens (RFC 7009 at /revoke):
with TOLLGATE_REVOCATION_CHECK on, a revoked jti is refused, at the cost of one more GetItem;
with it off, nothing is read at all."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from chalicelib.authorizer import config as configuration
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.lambda_handler import Authorizer, AuthorizerFailed
from chalicelib.clock import FakeClock
from chalicelib.settings import SettingsError
from chalicelib.stores.memory import MemoryTable
from chalicelib.stores.models import Grant
from chalicelib.stores.repository import Store
from chalicelib.stores.table import StoreUnavailable
from chalicelib.tokens import lookup
from tests.authorizer.gateway import rest_event
from tests.authorizer.test_lambda_handler import bearer, make_config
from tests.authorizer.tokens import ISSUER, NOW, KeyPair


@dataclass
class Counted:
    """The grant store, counting its reads (each one a DynamoDB GetItem)."""

    store: Store
    reads: list[str] = field(default_factory=list)
    down: bool = False

    def get(self, grant_id: str) -> Grant | None:
        self.reads.append(f"GRANT#{grant_id}")
        return self.store.grants.get(grant_id)

    def is_jti_revoked(self, jti: str) -> bool:
        self.reads.append(f"JTI#{jti}")
        if self.down:
            raise StoreUnavailable("throttled")
        return self.store.grants.is_jti_revoked(jti)


@pytest.fixture
def grants() -> Counted:
    store = Store(MemoryTable(FakeClock(NOW)))
    store.grants.put(Grant("g-1", "sub-alice", "web", ["notes:read"], NOW))
    return Counted(store)


def authorizer(keys: LocalKeys, grants: Counted, check: bool) -> Authorizer:
    cfg = make_config(revocation_check=check)
    return Authorizer(cfg, keys=keys, grants=grants, clock=lambda: NOW)


def test_a_revoked_user_token_is_refused_with_the_check(
    keys: LocalKeys, ec_key: KeyPair, grants: Counted
) -> None:
    """RFC 7009 2 and README "Revocation": one GetItem for the grant, one for the jti."""
    event = rest_event("GET", "/notes", bearer(ec_key, gid="g-1", jti="jti-1"))
    checking = authorizer(keys, grants, check=True)
    assert checking(event)["principalId"] == "sub-alice"
    assert grants.reads == ["GRANT#g-1", "JTI#jti-1"]
    grants.store.grants.revoke_jti("jti-1", NOW + 600)
    with pytest.raises(Unauthorized):
        checking(event)


def test_a_revoked_machine_token_is_refused_with_one_read(
    keys: LocalKeys, ec_key: KeyPair, grants: Counted
) -> None:
    """RFC 7009 2: a token without a grant (client_credentials) can still be revoked; the
    check reads only its jti."""
    event = rest_event("GET", "/notes", bearer(ec_key, sub="m2m", client_id="m2m", jti="j-m"))
    checking = authorizer(keys, grants, check=True)
    assert checking(event)
    assert grants.reads == ["JTI#j-m"]
    grants.store.grants.revoke_jti("j-m", NOW + 600)
    with pytest.raises(Unauthorized):
        checking(event)


def test_a_revoked_grant_is_refused_without_reading_the_jti(
    keys: LocalKeys, ec_key: KeyPair, grants: Counted
) -> None:
    grants.store.grants.revoke("g-1", NOW, "test")
    with pytest.raises(Unauthorized):
        authorizer(keys, grants, check=True)(
            rest_event("GET", "/notes", bearer(ec_key, gid="g-1", jti="jti-1"))
        )
    assert grants.reads == ["GRANT#g-1"]


def test_without_the_check_nothing_is_read(
    keys: LocalKeys, ec_key: KeyPair, grants: Counted
) -> None:
    """README "Revocation": the jti check costs nothing when the check is off (and a
    revoked token then passes until it expires)."""
    grants.store.grants.revoke_jti("jti-1", NOW + 600)
    event = rest_event("GET", "/notes", bearer(ec_key, gid="g-1", jti="jti-1"))
    assert authorizer(keys, grants, check=False)(event)
    assert grants.reads == []


def test_an_unreadable_jti_record_never_allows(
    keys: LocalKeys, ec_key: KeyPair, grants: Counted
) -> None:
    """SECURITY.md 25: the check fails closed (API Gateway answers 500, never an allow)."""
    grants.down = True
    with pytest.raises(AuthorizerFailed):
        authorizer(keys, grants, check=True)(
            rest_event("GET", "/notes", bearer(ec_key, gid="g-1", jti="jti-1"))
        )


def test_revocation_records_outlast_the_largest_configurable_leeway(tmp_path: Path) -> None:
    """SECURITY.md 24: a revoked jti is kept until exp + lookup.MAX_LEEWAY. An authorizer
    configured with more leeway would accept the token after its record is gone."""
    env = {"TOLLGATE_ISSUER": ISSUER, "TOLLGATE_ROUTE_POLICY": '{"GET /notes": []}'}
    most = configuration.from_env({**env, "TOLLGATE_LEEWAY": str(lookup.MAX_LEEWAY)}, tmp_path)
    assert most.leeway == lookup.MAX_LEEWAY
    with pytest.raises(SettingsError):
        configuration.from_env({**env, "TOLLGATE_LEEWAY": str(lookup.MAX_LEEWAY + 1)}, tmp_path)
