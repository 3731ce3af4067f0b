"""DPoP at the authorization server (RFC 9449): the token endpoint binds what it issues to
the proof's key, UserInfo and introspection honour the binding (SECURITY.md's DPoP section).

With an issuer that has a stage path (API Gateway's default URL ends in `/dev`), a proof
names the endpoint's URL under it (test_a_stage_path_issuer_s_proofs_name_the_stage).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.functional.flows import FORM, oauth_error, sign_in
from tests.functional.revoking import claims_of
from tests.support.dpop import DpopKey, dpop_key
from tests.support.logs import captured
from tests.support.oauth import REDIRECT, SECRET, Answer, Browser, basic, tollgate

ISSUER = "https://auth.example.test"
TOKEN_URL = f"{ISSUER}/token"
USERINFO_URL = f"{ISSUER}/userinfo"
SCOPES = "openid offline_access profile"


def _clients(deps: Deps) -> None:
    for client_id, public, required in (
        ("pub", True, False),
        ("conf", False, False),
        ("must", False, True),
        ("rs", False, False),
    ):
        deps.store.clients.create(
            Client(
                client_id=client_id,
                name=f"Client {client_id}",
                client_type="public" if public else "confidential",
                auth_method="none" if public else "client_secret_basic",
                redirect_uris=[REDIRECT],
                grant_types=["authorization_code", "refresh_token"],
                scopes=["openid", "profile", "offline_access"],
                secret_hash=None if public else digest(SECRET),
                dpop_bound_access_tokens=required,
                may_introspect=client_id == "rs",
            )
        )


@pytest.fixture
def env() -> Iterator[tuple[Deps, FakeClock, ChaliceClient]]:
    with tollgate() as running:
        _clients(running[0])
        yield running


def _post(browser: Browser, client_id: str, form: dict[str, str], proof: str | None) -> Answer:
    headers = dict(FORM)
    if client_id == "pub":
        form = {**form, "client_id": "pub"}
    else:
        headers["Authorization"] = basic(client_id, SECRET)
    if proof is not None:
        headers["DPoP"] = proof
    from urllib.parse import urlencode

    return browser.request("POST", "/token", urlencode(form), headers=headers, cookies=False)


def _code(browser: Browser, client_id: str, **extra: str) -> tuple[str, str]:
    done = sign_in(browser, client_id, SCOPES, True, "st-123", **extra)
    assert done.verifier is not None
    return done.code, done.verifier


def _exchange(
    browser: Browser, clock: FakeClock, client_id: str, key: DpopKey | None, **extra: str
) -> Answer:
    code, verifier = _code(browser, client_id, **extra)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    proof = key.proof("POST", TOKEN_URL, clock.now()) if key else None
    return _post(browser, client_id, form, proof)


def _refresh(
    browser: Browser, clock: FakeClock, client_id: str, rt: str, key: DpopKey | None
) -> Answer:
    form = {"grant_type": "refresh_token", "refresh_token": rt}
    proof = key.proof("POST", TOKEN_URL, clock.now()) if key else None
    return _post(browser, client_id, form, proof)


def _ok(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


@pytest.mark.parametrize("alg", ["ES256", "RS256"])
def test_a_proof_at_the_token_endpoint_binds_the_access_token(
    browser: Browser, clock: FakeClock, alg: str
) -> None:
    """SECURITY.md 46: token_type DPoP and cnf.jkt, the RFC 7638 thumbprint of the key."""
    key = dpop_key(alg)
    body = _ok(_exchange(browser, clock, "pub", key))
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}


def test_without_a_proof_tokens_stay_bearer(browser: Browser, clock: FakeClock) -> None:
    body = _ok(_exchange(browser, clock, "conf", None))
    assert body["token_type"] == "Bearer"
    assert "cnf" not in claims_of(body["access_token"])


def test_a_client_that_must_use_dpop_is_refused_without_a_proof(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 46: dpop_bound_access_tokens (`--dpop-required`)."""
    oauth_error(_exchange(browser, clock, "must", None), "invalid_dpop_proof")
    assert _ok(_exchange(browser, clock, "must", dpop_key()))["token_type"] == "DPoP"


@pytest.mark.parametrize(
    "change",
    [
        {"htu": f"{ISSUER}/userinfo"},
        {"htu": "https://auth.example.test/dev/token"},
        {"htm": "GET"},
        {"iat": 1},
        {"jti": None},
    ],
)
def test_a_proof_for_another_request_is_refused_and_the_code_stays_usable(
    browser: Browser, clock: FakeClock, change: dict[str, Any]
) -> None:
    """SECURITY.md 43: invalid_dpop_proof, and nothing is consumed."""
    code, verifier = _code(browser, "pub")
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    key = dpop_key()
    bad = key.proof("POST", TOKEN_URL, clock.now(), **change)
    answer = _post(browser, "pub", form, bad)
    oauth_error(answer, "invalid_dpop_proof")
    assert answer.headers["cache-control"] == "no-store"
    _ok(_post(browser, "pub", form, key.proof("POST", TOKEN_URL, clock.now())))


def test_a_replayed_proof_is_refused(browser: Browser, clock: FakeClock) -> None:
    """SECURITY.md 45: the same proof twice (its jti) is refused the second time, and the
    refusal is an audit record that holds neither the proof nor the token."""
    key = dpop_key()
    body = _ok(_exchange(browser, clock, "conf", key))
    proof = key.proof("POST", TOKEN_URL, clock.now())
    first = _post(
        browser,
        "conf",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        proof,
    )
    second_rt = _ok(first)["refresh_token"]
    with captured() as lines:
        again = _post(
            browser, "conf", {"grant_type": "refresh_token", "refresh_token": second_rt}, proof
        )
    oauth_error(again, "invalid_dpop_proof")
    (refused,) = lines.audit("dpop.refused")
    assert (refused["client_id"], refused["endpoint"]) == ("conf", "/token")
    assert "replay" in refused["reason"]
    logged = json.dumps(lines.lines)
    assert proof not in logged and proof.split(".")[2] not in logged
    assert second_rt not in logged


def test_a_public_clients_refresh_token_is_bound_to_its_key(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 46: another key, or none, is invalid_grant; the key itself works, and
    the successor stays bound."""
    key, other = dpop_key(), dpop_key(name="other")
    rt = _ok(_exchange(browser, clock, "pub", key))["refresh_token"]
    oauth_error(_refresh(browser, clock, "pub", rt, other), "invalid_grant")
    oauth_error(_refresh(browser, clock, "pub", rt, None), "invalid_grant")
    body = _ok(_refresh(browser, clock, "pub", rt, key))
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
    oauth_error(_refresh(browser, clock, "pub", body["refresh_token"], other), "invalid_grant")
    assert _ok(_refresh(browser, clock, "pub", body["refresh_token"], key))


def test_a_confidential_clients_refresh_is_not_bound_but_binds_the_new_token(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 46 (RFC 9449 5): the client's authentication binds its refresh token;
    each new access token is bound to the proof it presents."""
    key, other = dpop_key(), dpop_key(name="other")
    rt = _ok(_exchange(browser, clock, "conf", key))["refresh_token"]
    body = _ok(_refresh(browser, clock, "conf", rt, other))
    assert claims_of(body["access_token"])["cnf"] == {"jkt": other.jkt}
    plain = _ok(_refresh(browser, clock, "conf", body["refresh_token"], None))
    assert plain["token_type"] == "Bearer"


def test_dpop_jkt_at_authorize_binds_the_code(browser: Browser, clock: FakeClock) -> None:
    """SECURITY.md 47: another key or no proof is invalid_grant and leaves the code usable;
    the named key redeems it."""
    key, other = dpop_key(), dpop_key(name="other")
    code, verifier = _code(browser, "conf", dpop_jkt=key.jkt)
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    oauth_error(
        _post(browser, "conf", form, other.proof("POST", TOKEN_URL, clock.now())), "invalid_grant"
    )
    oauth_error(_post(browser, "conf", form, None), "invalid_grant")
    body = _ok(_post(browser, "conf", form, key.proof("POST", TOKEN_URL, clock.now())))
    assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}


def test_a_malformed_dpop_jkt_is_refused(browser: Browser) -> None:
    """SECURITY.md 47: not a SHA-256 thumbprint: invalid_request, redirected."""
    from tests.functional.flows import authorize_path

    answer = browser.get(authorize_path(client_id="conf", dpop_jkt="short"))
    assert answer.status == 303
    assert answer.location_params()["error"] == "invalid_request"


def test_the_metadata_names_the_proof_algorithms(browser: Browser) -> None:
    for path in ("/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"):
        doc = browser.get(path).json()
        assert doc["dpop_signing_alg_values_supported"] == ["ES256", "RS256", "PS256", "EdDSA"]


def _userinfo(browser: Browser, authorization: str, proof: str | None) -> Answer:
    headers = {"Authorization": authorization}
    if proof is not None:
        headers["DPoP"] = proof
    return browser.request("GET", "/userinfo", headers=headers, cookies=False)


def test_userinfo_takes_a_bound_token_with_the_dpop_scheme_and_a_proof(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 44, 45: the DPoP scheme, a proof for GET .../dev/userinfo with ath; a
    replayed proof, another key's, or the token as Bearer are refused with the DPoP
    challenge."""
    key = dpop_key()
    token = _ok(_exchange(browser, clock, "pub", key))["access_token"]
    proof = key.proof("GET", USERINFO_URL, clock.now(), token=token)
    answer = _userinfo(browser, f"DPoP {token}", proof)
    assert answer.status == 200, answer.text
    assert answer.json()["sub"] == "sub-alice"

    replayed = _userinfo(browser, f"DPoP {token}", proof)
    assert replayed.status == 401
    assert replayed.headers["www-authenticate"].startswith('DPoP error="invalid_dpop_proof"')
    assert 'algs="ES256 RS256 PS256 EdDSA"' in replayed.headers["www-authenticate"]

    as_bearer = _userinfo(browser, f"Bearer {token}", None)
    assert as_bearer.status == 401
    assert as_bearer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')

    foreign = dpop_key(name="other").proof("GET", USERINFO_URL, clock.now(), token=token)
    assert _userinfo(browser, f"DPoP {token}", foreign).status == 401
    no_ath = key.proof("GET", USERINFO_URL, clock.now())
    assert _userinfo(browser, f"DPoP {token}", no_ath).status == 401
    assert _userinfo(browser, f"DPoP {token}", None).status == 401


def test_userinfo_refuses_the_dpop_scheme_with_a_bearer_token(
    browser: Browser, clock: FakeClock
) -> None:
    """SECURITY.md 44: an unbound token is no DPoP token."""
    key = dpop_key()
    token = _ok(_exchange(browser, clock, "conf", None))["access_token"]
    proof = key.proof("GET", USERINFO_URL, clock.now(), token=token)
    answer = _userinfo(browser, f"DPoP {token}", proof)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')
    assert _userinfo(browser, f"Bearer {token}", None).status == 200


def test_introspection_reports_the_binding(browser: Browser, clock: FakeClock) -> None:
    """RFC 9449 6.2: token_type DPoP and cnf.jkt."""
    key = dpop_key()
    token = _ok(_exchange(browser, clock, "pub", key))["access_token"]
    from urllib.parse import urlencode

    headers = {**FORM, "Authorization": basic("rs", SECRET)}
    answer = browser.request(
        "POST", "/introspect", urlencode({"token": token}), headers=headers, cookies=False
    )
    body = answer.json()
    assert body["active"] is True
    assert body["token_type"] == "DPoP"
    assert body["cnf"] == {"jkt": key.jkt}


def test_server_nonces() -> None:
    """SECURITY.md 48: with TOLLGATE_DPOP_NONCE, a proof without the current nonce gets
    use_dpop_nonce and a DPoP-Nonce header; with it, tokens are issued (and the answer
    names the nonce to use next); at UserInfo the same, as a 401 DPoP challenge."""
    with tollgate(dpop_nonce=True) as (deps, clock, http):
        _clients(deps)
        browser = Browser(http)
        key = dpop_key()
        code, verifier = _code(browser, "pub")
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": "pub",
        }
        headers = {**FORM, "DPoP": key.proof("POST", TOKEN_URL, clock.now())}
        from urllib.parse import urlencode

        first = browser.request("POST", "/token", urlencode(form), headers=headers, cookies=False)
        oauth_error(first, "use_dpop_nonce")
        nonce = first.headers["dpop-nonce"]
        headers["DPoP"] = key.proof("POST", TOKEN_URL, clock.now(), nonce=nonce)
        second = browser.request("POST", "/token", urlencode(form), headers=headers, cookies=False)
        token = _ok(second)["access_token"]
        assert second.headers["dpop-nonce"]

        proof = key.proof("GET", USERINFO_URL, clock.now(), token=token)
        refused = _userinfo(browser, f"DPoP {token}", proof)
        assert refused.status == 401
        assert refused.headers["www-authenticate"].startswith('DPoP error="use_dpop_nonce"')
        fresh = refused.headers["dpop-nonce"]
        proof = key.proof("GET", USERINFO_URL, clock.now(), token=token, nonce=fresh)
        assert _userinfo(browser, f"DPoP {token}", proof).status == 200
        clock.advance(240)
        stale = key.proof("GET", USERINFO_URL, clock.now(), token=token, nonce=nonce)
        assert _userinfo(browser, f"DPoP {token}", stale).status == 401
        assert deps.settings.dpop_nonce


def test_a_stage_path_issuer_s_proofs_name_the_stage() -> None:
    """SECURITY.md 43: with the issuer https://auth.example.test/dev, the token endpoint is
    .../dev/token, which the proof must name; the path the Lambda sees (/token) is refused."""
    staged = "https://auth.example.test/dev"
    with tollgate(issuer=staged) as (deps, clock, http):
        deps.store.clients.create(
            Client(
                client_id="m2m",
                name="Machine",
                client_type="confidential",
                auth_method="client_secret_basic",
                redirect_uris=[],
                grant_types=["client_credentials"],
                scopes=["notes:read"],
                secret_hash=digest(SECRET),
            )
        )
        browser = Browser(http, issuer=staged)
        key = dpop_key()
        form = {"grant_type": "client_credentials"}
        wrong = key.proof("POST", "https://auth.example.test/token", clock.now())
        oauth_error(_post(browser, "m2m", form, wrong), "invalid_dpop_proof")
        right = key.proof("POST", f"{staged}/token", clock.now())
        body = _ok(_post(browser, "m2m", form, right))
        assert body["token_type"] == "DPoP"
        assert claims_of(body["access_token"])["cnf"] == {"jkt": key.jkt}
