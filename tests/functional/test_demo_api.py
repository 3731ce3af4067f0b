"""The demo protected API behind Tollgate's built-in authorizer, through chalice.test.Client:
tokens from the real code flow, scopes per route, notes per user, and every attack of
SECURITY.md 21 answered 401 with WWW-Authenticate."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from app import app
from chalicelib import deps as wiring
from chalicelib.authorizer.errors import Unauthorized
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.endpoints import demo_api
from chalicelib.stores.notes import Note
from chalicelib.stores.table import StoreUnavailable
from chalicelib.tokens import access_token
from chalicelib.web.protected import tollgate_authorizer
from tests.authorizer.tokens import KeyPair, StaticSigner, access_claims, attacks
from tests.functional.flows import redeem, sign_in, token
from tests.support.oauth import REDIRECT, Answer, Browser, basic, tollgate

NOTES_SCOPES = "openid notes:read notes:write"
# RFC 9728 5.1: every 401 and 403 names where the demo API's metadata is (under the issuer).
METADATA = 'resource_metadata="https://auth.example.test/.well-known/oauth-protected-resource"'


def mint(deps: Deps, scopes: list[str], sub: str = "sub-alice", **extra: Any) -> str:
    s = deps.settings
    issued, _ = access_token.mint(
        deps.signer,
        issuer=s.issuer,
        audience=s.audience,
        sub=sub,
        client_id="web",
        scopes=scopes,
        now=deps.clock.now(),
        ttl=s.access_token_ttl,
        **extra,
    )
    return issued


def call(
    browser: Browser, method: str, path: str, bearer: str | None, body: object = None
) -> Answer:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer is not None else {}
    data = b""
    if body is not None:
        headers["Content-Type"] = "application/json"
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return browser.request(method, path, body=data, headers=headers, cookies=False)


def invalid_token(answer: Answer, description: str | None = None) -> None:
    """401 invalid_token; only an expired or revoked token is told why (`description`)."""
    assert answer.status == 401, (answer.status, answer.text)
    challenge = 'Bearer error="invalid_token"'
    body = {"error": "invalid_token"}
    if description is not None:
        challenge += f', error_description="{description}"'
        body["error_description"] = description
    challenge += f", {METADATA}"
    assert answer.headers["www-authenticate"] == challenge
    assert answer.json() == body


def allow_notes(deps: Deps) -> None:
    client = deps.store.clients.get("web")
    assert client is not None
    client.scopes += ["notes:read", "notes:write"]
    deps.store.clients.save(client)


def flow_token(browser: Browser, deps: Deps, scope: str = NOTES_SCOPES) -> dict[str, Any]:
    allow_notes(deps)
    answer = redeem(sign_in(browser, scope=scope))
    assert answer.status == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_whoami_with_a_token_from_the_code_flow(browser: Browser, deps: Deps) -> None:
    tokens = flow_token(browser, deps)
    answer = call(browser, "GET", "/api/whoami", tokens["access_token"])
    assert answer.status == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json() == {
        "sub": "sub-alice",
        "client_id": "web",
        "scopes": ["openid", "notes:read", "notes:write"],
    }


def test_notes_are_kept_per_user(browser: Browser, deps: Deps, clock: FakeClock) -> None:
    alice = flow_token(browser, deps)["access_token"]
    bob = mint(deps, ["notes:read", "notes:write"], sub="sub-bob")
    assert call(browser, "GET", "/api/notes", alice).json() == {"notes": []}

    first = call(browser, "POST", "/api/notes", alice, {"text": "first"})
    assert first.status == 201, first.text
    clock.advance(5)
    second = call(browser, "POST", "/api/notes", alice, {"text": "second ✓"})
    assert second.status == 201
    assert second.json()["created_at"] == first.json()["created_at"] + 5
    call(browser, "POST", "/api/notes", bob, {"text": "bob's"})

    listed = call(browser, "GET", "/api/notes", alice)
    assert listed.status == 200
    assert [n["text"] for n in listed.json()["notes"]] == ["second ✓", "first"]
    assert listed.json()["notes"][1] == first.json()
    assert [n["text"] for n in call(browser, "GET", "/api/notes", bob).json()["notes"]] == ["bob's"]
    stored = deps.store.table.query("NOTES#sub-alice", "NOTE#")
    assert len(stored) == 2 and all(i["sk"].startswith("NOTE#0018") for i in stored)


def test_each_route_needs_its_scope(browser: Browser, deps: Deps) -> None:
    reader, writer, neither = (
        mint(deps, ["notes:read"]),
        mint(deps, ["notes:write"]),
        mint(deps, ["openid"]),
    )
    assert call(browser, "GET", "/api/notes", reader).status == 200
    assert call(browser, "POST", "/api/notes", writer, {"text": "x"}).status == 201
    for bearer in (reader, writer, neither):
        assert call(browser, "GET", "/api/whoami", bearer).status == 200

    refused = call(browser, "POST", "/api/notes", reader, {"text": "x"})
    assert refused.status == 403
    assert refused.headers["www-authenticate"] == (
        f'Bearer error="insufficient_scope", scope="notes:write", {METADATA}'
    )
    assert refused.json() == {"error": "insufficient_scope"}
    assert call(browser, "GET", "/api/notes", writer).status == 403
    assert call(browser, "GET", "/api/notes", neither).status == 403
    assert deps.store.notes.list_for("sub-alice") != []  # only the writer's note


def test_no_token_or_a_bad_one_is_401(browser: Browser, deps: Deps, clock: FakeClock) -> None:
    assert call(browser, "GET", "/api/whoami", None).status == 401  # the gateway's own answer
    basic_auth = browser.request(
        "GET", "/api/whoami", headers={"Authorization": basic("web", "x")}, cookies=False
    )
    assert basic_auth.status == 401
    assert basic_auth.headers["www-authenticate"] == f"Bearer {METADATA}"
    invalid_token(call(browser, "GET", "/api/whoami", "not-a-jwt"))
    bearer = mint(deps, ["notes:read"])
    clock.advance(deps.settings.access_token_ttl + 30)
    invalid_token(call(browser, "GET", "/api/notes", bearer), "the access token expired")


def test_every_attack_is_a_401_with_invalid_token(
    browser: Browser, deps: Deps, test_keys: tuple[KeyPair, KeyPair]
) -> None:
    """SECURITY.md 21, through the app: 401 and WWW-Authenticate: Bearer error="invalid_token"."""
    ec_key, rsa_key = test_keys
    s, now = deps.settings, deps.clock.now()
    good = ec_key.token(access_claims(iss=s.issuer, aud=s.audience, iat=now, exp=now + 300))
    assert call(browser, "GET", "/api/whoami", good).status == 200
    tokens = attacks(ec_key, rsa_key, issuer=s.issuer, audience=s.audience, now=now)
    for name, bearer in tokens.items():
        answer = call(browser, "GET", "/api/whoami", bearer)
        assert answer.status == 401, name
        challenge = answer.headers["www-authenticate"]
        # Only the expired one is told why; every other attack hears nothing more.
        said = ', error_description="the access token expired"' if name == "exp passed" else ""
        assert challenge == f'Bearer error="invalid_token"{said}, {METADATA}', name


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b'{"text": "x"}', "text/plain"),
        (b'{"text": "x"', "application/json"),
        (b"\xff\xfe", "application/json"),
        (b'["x"]', "application/json"),
        (b'{"text": "x", "pinned": true}', "application/json"),
        (b"{}", "application/json"),
        (b'{"text": 42}', "application/json"),
        (b'{"text": "   "}', "application/json"),
        (json.dumps({"text": "x" * 2001}).encode(), "application/json"),
        (b'{"text": "' + b"x" * 20000 + b'"}', "application/json"),
        # Issue 10 item 15: nesting was a 500, a lone surrogate a 503 (an outage, on AWS).
        (b'{"text": "x", "n": ' + b"[" * 1500 + b"]" * 1500 + b"}", "application/json"),
        (b"[" * 5000, "application/json"),
        (b'{"text": "\\ud800"}', "application/json"),
        (b'{"text": "a\\udfff b"}', "application/json"),
        (b'{"text": "x", "text": "y"}', "application/json"),
        (b'{"text": "x", "n": 1e400}', "application/json"),
        (b'\xef\xbb\xbf{"text": "x"}', "application/json"),
    ],
)
def test_note_bodies_are_validated(
    browser: Browser, deps: Deps, body: bytes, content_type: str
) -> None:
    bearer = mint(deps, ["notes:write"])
    headers = {"Authorization": f"Bearer {bearer}", "Content-Type": content_type}
    answer = browser.request("POST", "/api/notes", body=body, headers=headers, cookies=False)
    assert answer.status == 400, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert deps.store.notes.list_for("sub-alice") == []


def test_a_note_of_2000_characters_is_fine(browser: Browser, deps: Deps) -> None:
    bearer = mint(deps, ["notes:write"])
    text = "é" * demo_api.MAX_TEXT
    assert call(browser, "POST", "/api/notes", bearer, {"text": text}).status == 201
    assert deps.store.notes.list_for("sub-alice")[0].text == text


def test_the_notes_list_reads_only_the_newest(
    browser: Browser, deps: Deps, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10 item 15: GET /api/notes asks the store for LIST_LIMIT notes, newest first,
    instead of reading the whole partition and slicing it."""
    for n in range(demo_api.LIST_LIMIT + 5):
        deps.store.notes.put(Note(f"n{n}", "sub-alice", f"note {n}", clock.now() + n))
    asked: list[dict[str, Any]] = []
    query = deps.store.table.query

    def recording(pk: str, sk_prefix: str = "", **kwargs: Any) -> Any:
        if pk.startswith("NOTES#"):
            asked.append(kwargs)
        return query(pk, sk_prefix, **kwargs)

    monkeypatch.setattr(deps.store.table, "query", recording)
    answer = call(browser, "GET", "/api/notes", mint(deps, ["notes:read"]))

    assert answer.status == 200, answer.text
    shown = [note["text"] for note in answer.json()["notes"]]
    assert shown == [f"note {n}" for n in range(demo_api.LIST_LIMIT + 4, 4, -1)]
    assert asked == [{"limit": demo_api.LIST_LIMIT, "descending": True}]


def test_the_demo_api_is_off_in_prod() -> None:
    with tollgate(stage="prod") as (deps, _clock, http):
        browser = Browser(http)
        for method, path in (("GET", "/api/whoami"), ("GET", "/api/notes")):
            answer = call(browser, method, path, mint(deps, ["notes:read"]))
            assert answer.status == 404
            assert answer.json() == {"error": "not_found"}
        posted = call(browser, "POST", "/api/notes", mint(deps, ["notes:write"]), {"text": "x"})
        assert posted.status == 404
        assert deps.store.notes.list_for("sub-alice") == []
        metadata = browser.request("GET", "/.well-known/oauth-protected-resource", cookies=False)
        assert metadata.status == 404


def test_revocation_check_refuses_a_revoked_grants_tokens() -> None:
    """README "Revocation": with the check on, revoking the grant ends its access tokens now."""
    with tollgate(revocation_check=True) as (deps, clock, http):
        browser = Browser(http)
        tokens = flow_token(browser, deps)
        assert call(browser, "GET", "/api/whoami", tokens["access_token"]).status == 200
        grant_id = json.loads(_payload(tokens["access_token"]))["gid"]
        deps.store.grants.revoke(grant_id, clock.now(), "user signed out everywhere")
        invalid_token(
            call(browser, "GET", "/api/whoami", tokens["access_token"]),
            "the access token was revoked",
        )


def test_code_reuse_ends_the_access_tokens_too() -> None:
    """SECURITY.md 14 with the revocation check: a replayed code revokes the grant, and the
    access token already issued for it stops working at once."""
    with tollgate(revocation_check=True) as (deps, _clock, http):
        browser = Browser(http)
        allow_notes(deps)
        done = sign_in(browser, scope=NOTES_SCOPES)
        issued = redeem(done).json()["access_token"]
        assert call(browser, "GET", "/api/notes", issued).status == 200
        form = {
            "grant_type": "authorization_code",
            "code": done.code,
            "redirect_uri": REDIRECT,
            "code_verifier": done.verifier or "",
        }
        from tests.support.oauth import SECRET

        assert token(browser, form, basic("web", SECRET)).status == 400
        invalid_token(call(browser, "GET", "/api/notes", issued), "the access token was revoked")


def test_without_the_check_a_revoked_grants_token_lives_until_exp(
    browser: Browser, deps: Deps
) -> None:
    tokens = flow_token(browser, deps)
    grant_id = json.loads(_payload(tokens["access_token"]))["gid"]
    deps.store.grants.revoke(grant_id, deps.clock.now(), "test")
    assert call(browser, "GET", "/api/whoami", tokens["access_token"]).status == 200


def test_every_api_route_is_behind_the_authorizer_and_in_the_policy() -> None:
    api_routes = {
        (method, path): entry
        for path, methods in app.routes.items()
        if path.startswith("/api/")
        for method, entry in methods.items()
    }
    served = {key: entry for key, entry in api_routes.items() if entry.view_name in SERVED}
    assert set(served) == {
        ("GET", "/api/whoami"),
        ("GET", "/api/notes"),
        ("POST", "/api/notes"),
    }
    for (method, path), entry in served.items():
        assert entry.authorizer is not None and entry.authorizer.name == "tollgate_authorizer"
        assert demo_api.ROUTE_POLICY.needed(method, path) is not None, (method, path)
    # Every other method has a route of its own without the authorizer, which only refuses
    # (issue 17: Tollgate's 405, not Chalice's), and the policy allows it to no one.
    for (method, path), entry in api_routes.items():
        if (method, path) in served:
            continue
        assert entry.authorizer is None and entry.view_name.endswith("_other"), (method, path)
        assert demo_api.ROUTE_POLICY.needed(method, path) is None, (method, path)


SERVED = {"whoami", "notes"}


def test_other_methods_on_the_api_are_refused_without_a_token(browser: Browser) -> None:
    for path, allowed in (("/api/whoami", "GET, OPTIONS"), ("/api/notes", "GET, OPTIONS, POST")):
        for method in ("PUT", "PATCH", "DELETE"):
            answer = call(browser, method, path, None)
            assert answer.status == 405, (method, path, answer.text)
            assert answer.headers["allow"] == allowed
            assert answer.json()["error"] == "invalid_request"
        options = call(browser, "OPTIONS", path, None)
        assert (options.status, options.headers["allow"]) == (204, allowed)
        assert "access-control-allow-origin" not in options.headers


def _payload(jwt_text: str) -> str:
    import base64

    body = jwt_text.split(".")[1]
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()


class KeysDown(StaticSigner):
    def jwks(self) -> dict[str, Any]:
        raise StoreUnavailable("throttled")


def test_unreadable_keys_are_never_an_allow(browser: Browser, deps: Deps) -> None:
    """No decision locally is a 503 (on AWS the authorizer fails: API Gateway's 500/503)."""
    signer = KeysDown(KeyPair.ec("k"), KeyPair.rsa("r"))
    wiring.override(dataclasses.replace(deps, signer=signer))
    answer = call(browser, "GET", "/api/whoami", signer.ec_key.token(access_claims()))
    assert answer.status == 503
    assert "sub" not in answer.text


def test_on_aws_the_built_in_authorizer_speaks_api_gateway(
    deps: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In Lambda: "Unauthorized" for a bad token (401), the policy itself for a token lacking
    the route's scopes (API Gateway's 403, cached for the routes it does allow)."""
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "tollgate-dev-tollgate_authorizer")
    arn = "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/dev/POST/api/notes"

    def event(token: str) -> dict[str, str]:
        return {"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": arn}

    with pytest.raises(Unauthorized, match=r"^Unauthorized$"):
        tollgate_authorizer(event("x.y.z"), {})
    answer = tollgate_authorizer(event(mint(deps, ["notes:read"])), {})
    assert answer["principalId"] == "sub-alice"
    assert answer["context"] == {"sub": "sub-alice", "client_id": "web", "scope": "notes:read"}
    assert answer["policyDocument"]["Statement"][0]["Resource"] == [
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/dev/GET/api/notes",
        "arn:aws:execute-api:eu-west-1:123456789012:a1b2c3/dev/GET/api/whoami",
    ]


def test_a_client_whose_id_is_a_users_sub_gets_none_of_her_notes(
    browser: Browser, deps: Deps
) -> None:
    """SECURITY.md 37 (RFC 9068 5): a client registered, before creation refused it, with
    alice's sub as its client_id. Its client_credentials token carries sub = that id, but it
    is the client's own (sub == client_id): the notes API serves it none of alice's notes
    and writes none in her name."""
    from chalicelib.ids import digest
    from chalicelib.stores.models import Client
    from chalicelib.stores.records import to_item
    from tests.support.oauth import SECRET

    alice = flow_token(browser, deps)["access_token"]
    assert call(browser, "POST", "/api/notes", alice, {"text": "alice's secret"}).status == 201
    legacy = Client(
        client_id="sub-alice",
        name="Collides",
        client_type="confidential",
        auth_method="client_secret_basic",
        redirect_uris=[],
        grant_types=["client_credentials"],
        scopes=["notes:read", "notes:write"],
        secret_hash=digest(SECRET),
    )
    deps.store.table.put(to_item(legacy, "CLIENT#sub-alice", "CLIENT"))  # as stored back then
    answer = token(browser, {"grant_type": "client_credentials"}, basic("sub-alice", SECRET))
    assert answer.status == 200, answer.text
    machine = answer.json()["access_token"]

    listed = call(browser, "GET", "/api/notes", machine)
    assert listed.status == 200, listed.text
    assert listed.json() == {"notes": []}  # the client's own notes: none, never alice's
    assert call(browser, "POST", "/api/notes", machine, {"text": "forged"}).status == 403
    texts = [n["text"] for n in call(browser, "GET", "/api/notes", alice).json()["notes"]]
    assert texts == ["alice's secret"]


def test_the_demo_api_publishes_its_protected_resource_metadata(browser: Browser) -> None:
    """RFC 9728: a client that starts at the API finds the issuer, with no token, from the
    URL every 401 names."""
    refused = call(browser, "GET", "/api/whoami", "not-a-jwt")
    url = refused.headers["www-authenticate"].split('resource_metadata="', 1)[1].rstrip('"')
    assert url == "https://auth.example.test/.well-known/oauth-protected-resource"
    answer = browser.request("GET", url, cookies=False)
    assert answer.status == 200
    assert answer.headers["access-control-allow-origin"] == "*"
    assert answer.json() == {
        "resource": "https://auth.example.test",
        "authorization_servers": ["https://auth.example.test"],
        "scopes_supported": ["notes:read", "notes:write"],
        "bearer_methods_supported": ["header"],
    }
    assert browser.request("POST", url, cookies=False).status == 405
