"""SECURITY.md item 63: pushed authorization requests (RFC 9126).

/par authenticates the client as the token endpoint does and validates the request as
/authorize does; its request_uri is single use, short-lived and the pushing client's own; at
/authorize only client_id may accompany it; a client (or a server) that requires PAR gets no
code from a plain request. A refused push stores nothing.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest

from chalicelib.stores.models import Client
from tests.functional.flows import submit_login
from tests.security.conftest import (
    ISSUER,
    REDIRECT,
    VERIFIER,
    Flow,
    Server,
    auth_params,
    client_auth,
    query_of,
    raw_items,
)
from tests.support.assertions import claims as assertion_claims
from tests.support.assertions import client_key, form, jwks
from tests.support.logs import captured
from tests.support.oauth import Answer, Browser, tollgate

URN = "urn:ietf:params:oauth:request_uri:"
KEY = client_key("par-ec")
FORM = "application/x-www-form-urlencoded"


def register_signed(server: Server, client_id: str = "signed", **fields: Any) -> None:
    """A private_key_jwt client (ES256 key KEY)."""
    server.deps.store.clients.create(
        Client(
            client_id=client_id,
            name=client_id.title(),
            client_type="confidential",
            auth_method="private_key_jwt",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid", "profile"],
            jwks=jwks(KEY),
            **fields,
        )
    )


def credentials(
    server: Server, client_id: str, **changes: Any
) -> tuple[dict[str, str], dict[str, str]]:
    """(headers, form fields) authenticating `client_id` its registered way."""
    if client_id in {"signed", "fapi", "strict"}:
        if client_id == "fapi":  # FAPI 2.0 5.3.2.1-8: the issuer, as a string
            changes = {"aud": ISSUER, **changes}
        claims = assertion_claims(client_id, server.clock.now(), **changes)
        return {}, form(KEY.sign(claims), client_id=client_id)
    return client_auth(client_id)


def post(server: Server, path: str, fields: dict[str, str], headers: dict[str, str]) -> Answer:
    all_headers = {"Content-Type": FORM, **headers}
    return Browser(server.http).request("POST", path, body=urlencode(fields), headers=all_headers)


def push(server: Server, client_id: str = "web", **overrides: Any) -> Answer:
    """POST an authorization request to /par as `client_id`; a None override leaves it out."""
    headers, auth = credentials(server, client_id)
    params = auth_params(client_id, **{k: v for k, v in overrides.items() if v is not None})
    for name in [k for k, v in overrides.items() if v is None]:
        params.pop(name, None)
    return post(server, "/par", {**params, **auth}, headers)


def request_uri(answer: Answer) -> str:
    assert answer.status == 201, (answer.status, answer.text)
    body = answer.json()
    assert body["request_uri"].startswith(URN)
    return str(body["request_uri"])


def authorize(server: Server, params: dict[str, str]) -> Answer:
    return server.authorize(server.default_browser, params)


def to_client(answer: Answer) -> dict[str, list[str]]:
    assert answer.status == 303 and answer.location, (answer.status, answer.text)
    assert answer.location.startswith(REDIRECT + "?"), answer.location
    return query_of(answer.location)


def pushed_items(server: Server) -> list[dict[str, Any]]:
    return [i for i in raw_items(server.deps) if str(i["pk"]).startswith("PAR#")]


@pytest.fixture
def signed(server: Server) -> Server:
    register_signed(server)
    return server


# -- what works ------------------------------------------------------------------------------


@pytest.mark.parametrize("client_id", ["web", "post", "spa", "signed"])
def test_a_pushed_request_gets_a_code_that_redeems(signed: Server, client_id: str) -> None:
    pushed = push(signed, client_id, state="pushed-state")
    assert pushed.json()["expires_in"] == 60
    assert pushed.headers["cache-control"] == "no-store"
    uri = request_uri(pushed)

    browser = signed.default_browser
    final = signed.finish(browser, authorize(signed, {"client_id": client_id, "request_uri": uri}))
    params = to_client(final)
    assert params["state"] == ["pushed-state"] and params["iss"] == [ISSUER]

    flow = Flow(params["code"][0], VERIFIER, client_id, REDIRECT, final.location or "", browser)
    headers, auth = credentials(signed, client_id)
    fields = {"grant_type": "authorization_code", "code": flow.code, "code_verifier": VERIFIER}
    fields["redirect_uri"] = REDIRECT
    token = post(signed, "/token", {**fields, **auth}, headers)
    assert token.status == 200, token.text


def test_the_metadata_names_the_endpoint(server: Server) -> None:
    doc = Browser(server.http).get("/.well-known/oauth-authorization-server").json()
    assert doc["pushed_authorization_request_endpoint"] == f"{ISSUER}/par"
    assert doc["require_pushed_authorization_requests"] is False


# -- the request_uri: single use, short-lived, the pushing client's ---------------------------


def test_a_used_request_uri_is_refused(server: Server) -> None:
    uri = request_uri(push(server))
    first = authorize(server, {"client_id": "web", "request_uri": uri})
    assert first.status == 303 and "/interaction/" in (first.location or "")

    again = to_client(authorize(server, {"client_id": "web", "request_uri": uri}))

    assert again["error"] == ["invalid_request_uri"]
    assert again["iss"] == [ISSUER]
    assert "state" not in again  # the used request's state is not echoed to whoever asks


def test_an_expired_request_uri_is_refused(server: Server) -> None:
    uri = request_uri(push(server))
    server.clock.advance(60)

    answer = to_client(authorize(server, {"client_id": "web", "request_uri": uri}))

    assert answer["error"] == ["invalid_request_uri"]


def test_another_clients_request_uri_is_refused_and_spent(server: Server) -> None:
    uri = request_uri(push(server, "post"))
    browser = server.default_browser

    stolen = to_client(authorize(server, {"client_id": "web", "request_uri": uri}))
    owner = to_client(server.authorize(browser, {"client_id": "post", "request_uri": uri}))

    assert stolen["error"] == ["invalid_request_uri"]
    assert owner["error"] == ["invalid_request_uri"]


def test_an_unknown_request_uri_is_refused(server: Server) -> None:
    answer = authorize(server, {"client_id": "web", "request_uri": URN + "made-up"})
    assert to_client(answer)["error"] == ["invalid_request_uri"]


def test_an_unknown_request_uri_of_a_client_with_several_redirects_is_a_page(
    server: Server,
) -> None:
    server.deps.store.clients.create(
        Client(
            "multi",
            "Multi",
            "public",
            "none",
            [REDIRECT, "https://app.example/cb2"],
            ["authorization_code"],
            ["openid"],
        )
    )
    answer = authorize(server, {"client_id": "multi", "request_uri": URN + "made-up"})
    assert answer.status == 400 and "location" not in answer.headers


@pytest.mark.parametrize(
    "extra",
    [{"scope": "openid profile"}, {"redirect_uri": REDIRECT}, {"state": "other"}],
    ids=["scope", "redirect_uri", "state"],
)
def test_only_client_id_may_accompany_a_request_uri(server: Server, extra: dict[str, str]) -> None:
    uri = request_uri(push(server, state="pushed-state"))

    answer = to_client(authorize(server, {"client_id": "web", "request_uri": uri, **extra}))

    assert answer["error"] == ["invalid_request"]
    assert answer["state"] == ["pushed-state"]  # the pushed request's, not the one sent


def test_a_request_uri_that_is_not_a_pushed_one_stays_unsupported(server: Server) -> None:
    params = auth_params("web", request_uri="https://app.example/request.jwt")
    assert to_client(authorize(server, params))["error"] == ["request_uri_not_supported"]


# -- clients and servers that require PAR -----------------------------------------------------


def test_a_client_that_requires_par_gets_no_code_from_a_plain_request(server: Server) -> None:
    register_signed(server, "strict", require_pushed_authorization_requests=True)

    answer = to_client(authorize(server, auth_params("strict", state="plain")))

    assert answer["error"] == ["invalid_request"]
    assert answer["state"] == ["plain"]
    assert not [i for i in raw_items(server.deps) if str(i["pk"]).startswith("INTERACTION#")]


def test_an_expired_sign_in_of_a_client_that_requires_par_offers_no_plain_restart(
    server: Server,
) -> None:
    register_signed(server, "strict", require_pushed_authorization_requests=True)
    browser = server.default_browser
    uri = request_uri(push(server, "strict"))
    page = browser.follow(server.authorize(browser, {"client_id": "strict", "request_uri": uri}))
    assert 'name="restart"' in page.text
    server.clock.advance(server.deps.settings.interaction_ttl + 1)

    late = submit_login(browser, page)

    assert late.status == 400 and "This sign-in has expired" in late.text
    assert "Start again" not in late.text  # a plain request would be refused: push anew


def test_a_server_that_requires_par_refuses_every_plain_request() -> None:
    with tollgate(require_par=True) as (deps, clock, http):
        server = Server(deps, clock, http)
        doc = Browser(http).get("/.well-known/openid-configuration").json()
        assert doc["require_pushed_authorization_requests"] is True

        plain = to_client(authorize(server, auth_params("web")))
        uri = request_uri(push(server))
        pushed = authorize(server, {"client_id": "web", "request_uri": uri})

    assert plain["error"] == ["invalid_request"]
    assert "/interaction/" in (pushed.location or "")


# -- a push is validated as /authorize validates, and a refused one stores nothing -------------


@pytest.mark.parametrize(
    ("client_id", "overrides", "error"),
    [
        ("web", {"scope": "openid admin"}, "invalid_scope"),
        ("web", {"redirect_uri": "https://evil.example/cb"}, "invalid_request"),
        ("web", {"response_type": "token"}, "unsupported_response_type"),
        ("spa", {"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ("web", {"code_challenge_method": "plain"}, "invalid_request"),
        ("web", {"prompt": "bogus"}, "invalid_request"),
        ("web", {"max_age": "-1"}, "invalid_request"),
        ("web", {"state": "s" * 513}, "invalid_request"),
        ("web", {"id_token_hint": "not.a.token"}, "invalid_request"),
        ("web", {"request_uri": URN + "x"}, "invalid_request"),
        ("web", {"request": "eyJhbGciOiJub25lIn0.e30."}, "request_not_supported"),
    ],
)
def test_a_bad_push_is_refused_with_the_authorize_error(
    server: Server, client_id: str, overrides: dict[str, Any], error: str
) -> None:
    answer = push(server, client_id, **overrides)

    assert answer.status == 400, answer.text
    assert answer.json()["error"] == error
    assert answer.headers["cache-control"] == "no-store"
    assert pushed_items(server) == []


@pytest.mark.parametrize(
    "auth",
    [
        ({"Authorization": "Basic d2ViOndyb25n"}, {}),  # web:wrong
        ({}, {"client_id": "post", "client_secret": "wrong"}),
        ({}, {"client_id": "nobody"}),
        ({}, {}),
    ],
    ids=["basic", "post", "unknown", "none"],
)
def test_a_push_without_valid_client_authentication_is_refused(
    server: Server, auth: tuple[dict[str, str], dict[str, str]]
) -> None:
    params = auth_params("web")
    del params["client_id"]
    headers, fields = auth

    answer = post(server, "/par", {**params, **fields}, headers)

    assert answer.status == 401 and answer.json()["error"] == "invalid_client", answer.text
    assert pushed_items(server) == []


def test_a_signed_clients_assertion_at_par_is_single_use(signed: Server) -> None:
    headers, auth = credentials(signed, "signed", aud=f"{ISSUER}/par")
    params = auth_params("signed")

    first = post(signed, "/par", {**params, **auth}, headers)
    second = post(signed, "/par", {**params, **auth}, headers)

    assert first.status == 201, first.text
    assert second.status == 401 and second.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("method", "body", "content_type", "status"),
    [
        ("GET", "", FORM, 405),
        ("POST", '{"client_id": "web"}', "application/json", 400),
        ("POST", "scope=openid&scope=profile", FORM, 400),
        ("POST", "scope=" + "x" * 5000, FORM, 400),
        ("POST", "code_challenge_method=S256&code_challenge_method=plain", FORM, 400),
    ],
    ids=["get", "json", "repeated", "too-long", "repeated-method"],
)
def test_bad_input_at_par(
    server: Server, method: str, body: str, content_type: str, status: int
) -> None:
    headers, _ = client_auth("web")
    base = urlencode(auth_params("web", scope="openid"))
    raw = body if method == "GET" or content_type != FORM else f"{base}&{body}"
    answer = Browser(server.http).request(
        method, "/par", body=raw, headers={**headers, "Content-Type": content_type}
    )

    assert answer.status == status, answer.text
    assert answer.json()["error"] == "invalid_request"
    assert pushed_items(server) == []


def test_pushes_and_refused_request_uris_are_audited_without_the_request_uri(
    server: Server,
) -> None:
    with captured() as lines:
        uri = request_uri(push(server))
        authorize(server, {"client_id": "web", "request_uri": uri})
        authorize(server, {"client_id": "web", "request_uri": uri})

    (pushed,) = lines.audit("par.pushed")
    (refused,) = lines.audit("par.request_uri_refused")
    assert (pushed["client_id"], pushed["outcome"]) == ("web", "success")
    assert (refused["client_id"], refused["outcome"]) == ("web", "failure")
    handle = uri.removeprefix(URN)
    assert not [line for line in lines.lines if handle in json.dumps(line)]


def test_a_push_keeps_only_what_authorize_reads(server: Server) -> None:
    """SECURITY.md 31 and 63: neither client credentials nor ignored parameters are stored."""
    headers, auth = credentials(server, "post")
    fields = {**auth_params("post"), **auth, "x-filler": "f" * 4000, "ui_locales": "de"}

    request_uri(post(server, "/par", fields, headers))

    (item,) = pushed_items(server)
    assert set(item["params"]) == {
        "client_id",
        "response_type",
        "redirect_uri",
        "scope",
        "state",
        "code_challenge",
        "code_challenge_method",
    }
