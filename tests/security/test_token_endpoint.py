"""SECURITY.md items 11-13: the token endpoint's caching, error format and client authentication."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote_plus

import pytest

from chalicelib.ids import digest
from chalicelib.stores.models import Client
from tests.security.conftest import REDIRECT, SECRET, Flow, Server, client_auth
from tests.support.oauth import Answer, basic

FORM = "application/x-www-form-urlencoded"


def raw_basic(client_id: str, secret: str) -> str:
    """HTTP Basic without the form-urlencoding RFC 6749 2.3.1 asks for."""
    return "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()


def code_request(flow: Flow, client_id: str = "web") -> tuple[dict[str, str], dict[str, str]]:
    headers, form = client_auth(client_id)
    form = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": flow.redirect_uri or REDIRECT,
        "code_verifier": flow.verifier or "",
        **form,
    }
    return headers, form


def assert_no_store(answer: Answer) -> None:
    assert answer.headers.get("cache-control") == "no-store", answer.headers
    assert answer.headers.get("pragma") == "no-cache", answer.headers


def assert_error(answer: Answer, error: str, status: int = 400) -> None:
    assert answer.status == status, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert isinstance(body, dict)
    assert body["error"] == error, body
    assert set(body) <= {"error", "error_description", "error_uri"}, body
    assert isinstance(body.get("error_description", ""), str)
    assert_no_store(answer)


def bogus(**extra: str) -> dict[str, str]:
    return {"grant_type": "authorization_code", "code": "no-such-code", **extra}


def token_form(server: Server, form: list[tuple[str, str]], client_id: str = "web") -> Answer:
    headers, fields = client_auth(client_id)
    return server.token([*form, *fields.items()], headers=headers)


# name -> (request, expected error, expected status)
ERRORS: dict[str, tuple[Callable[[Server], Answer], str, int]] = {
    "unknown code": (lambda s: token_form(s, list(bogus().items())), "invalid_grant", 400),
    "missing code": (
        lambda s: token_form(s, [("grant_type", "authorization_code")]),
        "invalid_request",
        400,
    ),
    "missing grant_type": (lambda s: token_form(s, [("code", "x")]), "invalid_request", 400),
    "unsupported grant_type": (
        lambda s: token_form(s, [("grant_type", "password"), ("username", "alice")]),
        "unsupported_grant_type",
        400,
    ),
    "duplicate code": (
        lambda s: token_form(s, [*bogus().items(), ("code", "other")]),
        "invalid_request",
        400,
    ),
    "duplicate grant_type": (
        lambda s: token_form(s, [*bogus().items(), ("grant_type", "authorization_code")]),
        "invalid_request",
        400,
    ),
    "duplicate client_id": (
        lambda s: token_form(s, [*bogus().items(), ("client_id", "spa")], "spa"),
        "invalid_request",
        400,
    ),
    "duplicate client_secret": (
        lambda s: token_form(s, [*bogus().items(), ("client_secret", SECRET)], "post"),
        "invalid_request",
        400,
    ),
    "basic and client_secret": (
        lambda s: s.token(
            bogus(client_secret=SECRET), headers={"Authorization": basic("web", SECRET)}
        ),
        "invalid_request",
        400,
    ),
    "basic and client_secret of another client": (
        lambda s: s.token(
            bogus(client_id="post", client_secret=SECRET),
            headers={"Authorization": basic("web", SECRET)},
        ),
        "invalid_request",
        400,
    ),
    "json body": (
        lambda s: s.token(
            {},
            body=json.dumps(bogus()).encode(),
            content_type="application/json",
            headers={"Authorization": basic("web", SECRET)},
        ),
        "invalid_request",
        400,
    ),
    "text/plain body": (
        lambda s: s.token(
            bogus(), content_type="text/plain", headers={"Authorization": basic("web", SECRET)}
        ),
        "invalid_request",
        400,
    ),
    "no content type": (
        lambda s: s.token(
            bogus(), content_type=None, headers={"Authorization": basic("web", SECRET)}
        ),
        "invalid_request",
        400,
    ),
    "multipart body": (
        lambda s: s.token(
            bogus(),
            content_type="multipart/form-data; boundary=x",
            headers={"Authorization": basic("web", SECRET)},
        ),
        "invalid_request",
        400,
    ),
    "bearer authorization": (
        lambda s: s.token(bogus(client_id="spa"), headers={"Authorization": "Bearer abc"}),
        "invalid_request",
        400,
    ),
    "no client authentication": (lambda s: s.token(bogus()), "invalid_client", 401),
    "post with wrong secret": (
        lambda s: s.token(bogus(client_id="post", client_secret="wrong")),
        "invalid_client",
        401,
    ),
    "unknown client via post": (
        lambda s: s.token(bogus(client_id="nobody", client_secret=SECRET)),
        "invalid_client",
        401,
    ),
    "basic client using post, wrong secret": (
        lambda s: s.token(bogus(client_id="web", client_secret="wrong")),
        "invalid_client",
        401,
    ),
    "confidential client without secret": (
        lambda s: s.token(bogus(client_id="web")),
        "invalid_client",
        401,
    ),
}

# Basic used: 401 with WWW-Authenticate (RFC 6749 5.2).
BASIC_FAILURES: dict[str, str] = {
    "wrong secret": basic("web", "wrong"),
    "unknown client": basic("nobody", SECRET),
    "public client with basic": basic("spa", SECRET),
    "post client with basic, wrong secret": basic("post", "wrong"),
    "empty secret": basic("web", ""),
    "not base64": "Basic !!!not-base64!!!",
    "no colon": "Basic " + base64.b64encode(b"web").decode(),
    "not utf-8": "Basic " + base64.b64encode(b"web:\xff\xfe").decode(),
    "empty": "Basic ",
    "lower-case scheme, wrong secret": "basic " + basic("web", "wrong").split(" ", 1)[1],
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors_are_json_and_never_cached(server: Server, name: str) -> None:
    """SECURITY.md 11, 12; RFC 6749 5.1 (no-store), 5.2 (error response), 3.2 (form body)."""
    request, error, status = ERRORS[name]
    assert_error(request(server), error, status)


@pytest.mark.parametrize("name", BASIC_FAILURES)
def test_invalid_client_with_basic_is_401_with_www_authenticate(server: Server, name: str) -> None:
    """SECURITY.md 12; RFC 6749 5.2, RFC 7617 2: Basic failures get 401 and a challenge."""
    answer = server.token(bogus(), headers={"Authorization": BASIC_FAILURES[name]})
    assert_error(answer, "invalid_client", 401)
    challenge = answer.headers.get("www-authenticate", "")
    assert challenge.lower().startswith("basic"), answer.headers
    assert "realm=" in challenge


def test_success_is_never_cached(server: Server) -> None:
    """SECURITY.md 11; RFC 6749 5.1: the token response carries no-store and no-cache."""
    flow = server.sign_in("web")
    answer = server.redeem(flow)
    assert answer.status == 200, answer.text
    assert answer.headers["content-type"].startswith("application/json")
    assert_no_store(answer)
    assert answer.json()["token_type"] == "Bearer"


def test_reused_code_error_is_never_cached(server: Server) -> None:
    """SECURITY.md 11; RFC 6749 5.1, 5.2: the invalid_grant for a reused code too."""
    flow = server.sign_in("web")
    assert server.redeem(flow).status == 200
    assert_error(server.redeem(flow), "invalid_grant")


def test_duplicate_parameter_leaves_the_code_usable(server: Server) -> None:
    """SECURITY.md 12; RFC 6749 3.2 (no repeated parameters): refused before anything changes."""
    flow = server.sign_in("web")
    headers, form = code_request(flow)
    answer = server.token(
        [*form.items(), ("code_verifier", form["code_verifier"])], headers=headers
    )
    assert_error(answer, "invalid_request")
    retry = server.token(form, headers=headers)
    assert retry.status == 200, retry.text


def test_two_authentication_methods_leave_the_code_usable(server: Server) -> None:
    """SECURITY.md 12; RFC 6749 2.3 (one method per request): refused before the claim."""
    flow = server.sign_in("web")
    headers, form = code_request(flow)
    answer = server.token({**form, "client_secret": SECRET}, headers=headers)
    assert_error(answer, "invalid_request")
    assert server.token(form, headers=headers).status == 200


def test_failed_client_authentication_leaves_the_code_usable(server: Server) -> None:
    """SECURITY.md 12; RFC 6749 4.1.3: client authentication comes before the code is claimed."""
    flow = server.sign_in("web")
    headers, form = code_request(flow)
    answer = server.token(form, headers={"Authorization": basic("web", "wrong")})
    assert_error(answer, "invalid_client", 401)
    assert server.token(form, headers=headers).status == 200


# -- item 13: Basic credentials are form-urlencoded ------------------------------------------

ODD_CLIENTS = [
    ("my:client", "p@ss:w/rd+"),
    ("a+b%41 c", "x:y é=&%2B"),
]


def register(server: Server, client_id: str, secret: str) -> None:
    server.deps.store.clients.create(
        Client(
            client_id=client_id,
            name="Odd",
            client_type="confidential",
            auth_method="client_secret_basic",
            redirect_uris=[REDIRECT],
            grant_types=["authorization_code"],
            scopes=["openid"],
            secret_hash=digest(secret),
        )
    )


@pytest.mark.parametrize(("client_id", "secret"), ODD_CLIENTS)
def test_basic_credentials_are_form_urlencoded(server: Server, client_id: str, secret: str) -> None:
    """SECURITY.md 13; RFC 6749 2.3.1: client_id and secret are form-urlencoded before base64."""
    register(server, client_id, secret)
    flow = server.sign_in(client_id)
    _, form = code_request(flow, "spa")  # the form fields, without spa's client_id
    form.pop("client_id")
    encoded = (
        "Basic "
        + base64.b64encode(f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()).decode()
    )
    assert encoded == basic(client_id, secret)
    # The raw, unencoded form is not what the RFC prescribes, and it is not needed.
    raw = server.token(form, headers={"Authorization": raw_basic(client_id, secret)})
    assert_error(raw, "invalid_client", 401)
    answer = server.token(form, headers={"Authorization": encoded})
    assert answer.status == 200, answer.text
    assert answer.json()["access_token"]


def test_percent_encoded_client_id_in_basic_matches_form_client_id(server: Server) -> None:
    """SECURITY.md 13; RFC 6749 2.3.1: the decoded Basic client_id is the one compared."""
    register(server, "my:client", "p@ss:w/rd+")
    flow = server.sign_in("my:client")
    _, form = code_request(flow, "spa")
    form["client_id"] = "my:client"
    answer = server.token(form, headers={"Authorization": basic("my:client", "p@ss:w/rd+")})
    assert answer.status == 200, answer.text
