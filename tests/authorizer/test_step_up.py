"""Per-route acr and max_age in the route policy (RFC 9470; SECURITY.md item 62): a token
below a route's level is allowed no such route, and the route at hand is refused with 401
insufficient_user_authentication naming acr_values and max_age."""

from __future__ import annotations

import pytest

from chalicelib.authorizer import gate
from chalicelib.authorizer.errors import InsufficientScope, InsufficientUserAuthentication
from chalicelib.authorizer.keys import LocalKeys
from chalicelib.authorizer.policy import PolicyError, RoutePolicy
from tests.authorizer.gateway import API, Gateway
from tests.authorizer.test_policy import authorizer
from tests.authorizer.tokens import AUDIENCE, ISSUER, NOW, KeyPair, access_claims

MFA = "urn:tollgate:mfa"
PAYMENTS = {
    "GET /api/notes": ["notes:read"],
    "POST /api/pay": {"scopes": ["notes:read"], "acr": MFA},
    "POST /api/close": {"scopes": ["notes:read"], "acr": MFA, "max_age": 300},
}


def decide(
    key: KeyPair, keys: LocalKeys, method: str, path: str, **claims: object
) -> gate.Decision:
    token = key.token(access_claims(**claims))
    return gate.authorize(
        f"Bearer {token}",
        f"{API}/prod/{method}{path}",
        keys=keys,
        policy=RoutePolicy.from_mapping(PAYMENTS),
        issuer=ISSUER,
        audience=AUDIENCE,
        now=NOW,
    )


def test_a_password_token_is_refused_a_route_that_needs_mfa(
    ec_key: KeyPair, keys: LocalKeys
) -> None:
    decision = decide(ec_key, keys, "POST", "/api/pay", acr="0", auth_time=NOW - 10)
    assert not decision.allowed_here
    denial = decision.denial()
    assert isinstance(denial, InsufficientUserAuthentication)
    assert denial.status == 401
    assert denial.www_authenticate() == (
        'Bearer error="insufficient_user_authentication", '
        'error_description="a stronger or more recent sign-in is needed", '
        f'acr_values="{MFA}"'
    )
    assert decision.response["context"]["acr"] == "0"


@pytest.mark.parametrize("acr", [MFA, "phr"])
def test_an_mfa_token_is_allowed_and_a_higher_level_meets_a_lower(
    ec_key: KeyPair, keys: LocalKeys, acr: str
) -> None:
    decision = decide(ec_key, keys, "POST", "/api/pay", acr=acr, auth_time=NOW - 10)
    assert decision.allowed_here


@pytest.mark.parametrize(
    ("claims", "allowed"),
    [
        ({"acr": MFA, "auth_time": NOW - 300}, True),
        ({"acr": MFA, "auth_time": NOW - 301}, False),  # signed in too long ago
        ({"acr": MFA}, False),  # no auth_time: cannot be shown recent
        ({"acr": MFA, "auth_time": "recent"}, False),
        ({"acr": ["urn:tollgate:mfa"], "auth_time": NOW}, False),  # acr is a string
        ({"auth_time": NOW}, False),  # no acr
    ],
)
def test_max_age_and_malformed_claims(
    ec_key: KeyPair, keys: LocalKeys, claims: dict[str, object], allowed: bool
) -> None:
    decision = decide(ec_key, keys, "POST", "/api/close", **claims)
    assert decision.allowed_here is allowed
    if not allowed:
        challenge = decision.denial().www_authenticate()
        assert challenge.endswith(f'acr_values="{MFA}", max_age="300"')


def test_missing_scopes_stay_a_403(ec_key: KeyPair, keys: LocalKeys) -> None:
    decision = decide(ec_key, keys, "POST", "/api/pay", scope="other", acr=MFA, auth_time=NOW)
    assert isinstance(decision.denial(), InsufficientScope)


def test_the_cached_policy_serves_every_route_by_level(ec_key: KeyPair, keys: LocalKeys) -> None:
    """SECURITY.md item 62 with item 23: one answer per token, cached, never lets a password
    token reach the MFA route through the cache."""
    gateway = Gateway(authorizer(keys, RoutePolicy.from_mapping(PAYMENTS)), ttl=300)
    weak = "Bearer " + ec_key.token(access_claims(acr="0", auth_time=NOW))
    assert gateway.request("GET", "/api/notes", weak)[0] == 200
    assert gateway.request("POST", "/api/pay", weak)[0] == 403
    strong = "Bearer " + ec_key.token(access_claims(acr=MFA, auth_time=NOW, jti="jti-2"))
    assert gateway.request("POST", "/api/pay", strong)[0] == 200


@pytest.mark.parametrize(
    "doc",
    [
        {"POST /x": {"scopes": [], "acr": "gold"}},
        {"POST /x": {"scopes": [], "max_age": -1}},
        {"POST /x": {"scopes": [], "max_age": True}},
        {"POST /x": {"scopes": [], "level": MFA}},
        # Overlapping routes with different levels: IAM would allow the laxer.
        {"POST /x/{id}": {"scopes": [], "acr": MFA}, "POST /x/*": []},
    ],
)
def test_bad_step_up_policies_are_refused(doc: dict[str, object]) -> None:
    with pytest.raises(PolicyError):
        RoutePolicy.from_mapping(doc)
