"""Nothing unused is kept forever: an authorization whose code is never redeemed writes no
grant and no index item, and everything it does write carries a ttl (SECURITY.md item 35).
Redeeming the code creates the grant and its index item in the same transaction."""

from __future__ import annotations

from chalicelib.ids import digest
from chalicelib.stores.table import Item
from tests.security.conftest import Server, raw_items


def _without_ttl(server: Server) -> dict[tuple[str, str], Item]:
    return {(str(i["pk"]), str(i["sk"])): i for i in raw_items(server.deps) if "ttl" not in i}


def test_an_unredeemed_authorization_leaves_no_item_without_ttl(server: Server) -> None:
    """SECURITY.md 35: besides the consent the person gave, nothing lives on."""
    # The device-cookie key (SECURITY.md 32) is made once per deployment, not per sign-in.
    server.deps.store.limits.device_key()
    before = _without_ttl(server)
    flow = server.sign_in("web", scope="openid profile")

    added = set(_without_ttl(server)) - set(before)
    assert added == {("CONSENT#sub-alice", "CLIENT#web")}
    code = server.deps.store.codes.get(digest(flow.code))
    assert code is not None
    assert server.deps.store.grants.get(code.grant_id) is None
    assert server.deps.store.grants.list_for("sub-alice") == []

    # A second authorization, signed in and consent stored: not even the consent is new.
    server.sign_in("web", scope="openid profile")
    assert set(_without_ttl(server)) - set(before) == added

    # Once the codes, session and interactions expire, none of them is readable.
    server.clock.advance(server.deps.settings.session_ttl)
    live = {(str(i["pk"]), str(i["sk"])) for i in raw_items(server.deps)}
    expiring = {k for k in live if k not in _without_ttl(server)}
    assert all(server.deps.store.table.get(*key) is None for key in expiring)


def test_redeeming_the_code_creates_its_grant_and_index_item(server: Server) -> None:
    """SECURITY.md 35: the grant is written with the code's consumption, not before."""
    flow = server.sign_in("web", scope="openid profile")
    code = server.deps.store.codes.get(digest(flow.code))
    assert code is not None

    assert server.redeem(flow).status == 200

    grant = server.deps.store.grants.get(code.grant_id)
    assert grant is not None and grant.active
    assert (grant.sub, grant.client_id, grant.scopes) == ("sub-alice", "web", ["openid", "profile"])
    assert grant.created_at == server.clock.now()
    assert [g.grant_id for g in server.deps.store.grants.list_for("sub-alice")] == [code.grant_id]
