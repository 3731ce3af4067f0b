"""DPoP through Tollgate's built-in authorizer (the demo API): chalice.test.Client runs it
in-process with the local gateway's event; on AWS it is a REQUEST authorizer with its cache
off (infra/chalice_app.py). SECURITY.md 44 and 45."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.authorizer.errors import Unauthorized
from chalicelib.deps import Deps
from chalicelib.web import protected
from chalicelib.web.protected import tollgate_authorizer
from tests.functional.test_demo_api import mint
from tests.support.dpop import DpopKey, dpop_key
from tests.support.oauth import ISSUER, Answer, Browser, tollgate

WHOAMI = f"{ISSUER}/api/whoami"


def _call(browser: Browser, authorization: str, proof: str | None) -> Answer:
    headers = {"Authorization": authorization}
    if proof is not None:
        headers["DPoP"] = proof
    return browser.request("GET", "/api/whoami", headers=headers, cookies=False)


def _bound(deps: Deps, key: DpopKey) -> str:
    return mint(deps, ["openid"], jkt=key.jkt)


@pytest.fixture(autouse=True)
def cache_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The DPoP configuration: no authorizer cache (the local stage's setting; a deployed
    stage packaged with TOLLGATE_AUTHORIZER_CACHE_TTL=0). One test below turns it on."""
    monkeypatch.setattr(protected, "CACHE_TTL", 0)


def test_the_cache_is_on_by_default_and_off_on_the_local_stage() -> None:
    """Deployed stages cache a Bearer answer for 60 s unless packaged otherwise; `chalice
    local` (no gateway cache) runs with 0, so DPoP works there."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    code = "from chalicelib.web import protected; print(protected.CACHE_TTL)"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(root)}
    ran = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    assert ran.stdout.strip() == "60"
    stages = json.loads((root / ".chalice" / "config.json").read_text())["stages"]
    assert stages["local"]["environment_variables"]["TOLLGATE_AUTHORIZER_CACHE_TTL"] == "0"
    assert "TOLLGATE_AUTHORIZER_CACHE_TTL" not in stages["dev"]["environment_variables"]


def test_a_bound_token_with_a_fresh_proof_per_request(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 44, 45: each request its own proof; a replayed one is refused with the
    DPoP challenge."""
    key = dpop_key()
    token = _bound(deps, key)
    for _ in range(2):
        proof = key.proof("GET", WHOAMI, deps.clock.now(), token=token)
        answer = _call(browser, f"DPoP {token}", proof)
        assert answer.status == 200, answer.text
        assert answer.json()["sub"] == "sub-alice"
    replayed = _call(browser, f"DPoP {token}", proof)
    assert replayed.status == 401
    assert replayed.headers["www-authenticate"] == (
        'DPoP error="invalid_dpop_proof", algs="ES256 RS256 PS256 EdDSA", '
        f'resource_metadata="{ISSUER}/.well-known/oauth-protected-resource"'
    )
    assert replayed.json() == {"error": "invalid_dpop_proof"}


def test_a_bound_token_as_bearer_is_refused(browser: Browser, deps: Deps) -> None:
    """SECURITY.md 44."""
    token = _bound(deps, dpop_key())
    answer = _call(browser, f"Bearer {token}", None)
    assert answer.status == 401
    assert answer.headers["www-authenticate"].startswith('DPoP error="invalid_token"')


def test_a_proof_for_another_route_or_key_is_refused(browser: Browser, deps: Deps) -> None:
    key = dpop_key()
    token = _bound(deps, key)
    now = deps.clock.now()
    for proof in (
        key.proof("GET", f"{ISSUER}/api/notes", now, token=token),
        key.proof("POST", WHOAMI, now, token=token),
        dpop_key(name="other").proof("GET", WHOAMI, now, token=token),
    ):
        assert _call(browser, f"DPoP {token}", proof).status == 401


def test_with_a_cache_the_built_in_authorizer_refuses_dpop(
    browser: Browser, deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 45: a cached allow would let a later request skip its proof."""
    monkeypatch.setattr(protected, "CACHE_TTL", 60)
    key = dpop_key()
    token = _bound(deps, key)
    proof = key.proof("GET", WHOAMI, deps.clock.now(), token=token)
    assert _call(browser, f"DPoP {token}", proof).status == 401
    assert _call(browser, f"Bearer {mint(deps, ['openid'])}", None).status == 200


def _aws_event(authorization: str, proof: str | None, kind: str = "REQUEST") -> dict[str, Any]:
    arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/dev/GET/api/whoami"
    if kind == "TOKEN":
        return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": arn}
    headers = {"Host": "a1b2c3.execute-api.eu-west-1.amazonaws.com", "Authorization": authorization}
    if proof is not None:
        headers["DPoP"] = proof
    return {
        "type": "REQUEST",
        "methodArn": arn,
        "resource": "/api/whoami",
        "path": "/api/whoami",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"stage": "dev", "path": "/dev/api/whoami", "httpMethod": "GET"},
    }


def test_on_aws_a_request_event_under_a_stage_path_issuer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """API Gateway's REQUEST event: the proof names the issuer's URL (its stage included);
    a TOKEN event cannot carry a proof and is refused."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tollgate-dev-tollgate_authorizer")
    issuer = "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/dev"
    with tollgate(issuer=issuer) as (deps, clock, _http):
        key = dpop_key()
        token = _bound(deps, key)
        proof = key.proof("GET", f"{issuer}/api/whoami", clock.now(), token=token)
        answer = tollgate_authorizer(_aws_event(f"DPoP {token}", proof), {})
        assert answer["principalId"] == "sub-alice"
        with pytest.raises(Unauthorized):
            tollgate_authorizer(_aws_event(f"DPoP {token}", proof), {})  # replayed
        lost = key.proof("GET", f"{issuer}/api/whoami", clock.now(), token=token)
        with pytest.raises(Unauthorized):
            tollgate_authorizer(_aws_event(f"DPoP {token}", lost, "TOKEN"), {})
        wrong = key.proof(
            "GET",
            "https://a1b2c3.execute-api.eu-west-1.amazonaws.com/api/whoami",
            clock.now(),
            token=token,
        )
        with pytest.raises(Unauthorized):
            tollgate_authorizer(_aws_event(f"DPoP {token}", wrong), {})
