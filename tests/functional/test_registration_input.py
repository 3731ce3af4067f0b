"""Dynamic registration reads every metadata field strictly (RFC 7591 2, OIDC Registration
2): refusals are 400 with invalid_redirect_uri or invalid_client_metadata, nothing is
stored, and fields Tollgate does not know are ignored (SECURITY.md 53)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.deps import Deps
from tests.functional.flows import Unchanged, oauth_error
from tests.functional.registering import NATIVE, register
from tests.support.oauth import Browser

LOOPBACK = "http://127.0.0.1:8123/cb"

BAD_REDIRECTS: list[Any] = [
    ["https://app.example/cb#frag"],
    ["http://app.example/cb"],  # plain http off loopback
    ["myapp:/cb"],  # a private-use scheme without a dot (RFC 8252 7.1)
    ["javascript:alert(1)//"],
    ["https://*.example/cb"],
    [f"http://127.0.0.1:{n}/cb" for n in range(8000, 8011)],  # 11: more than 10
    "http://127.0.0.1/cb",  # not an array
    [7],
    [LOOPBACK, LOOPBACK],
    ["https://app.example/" + "a" * 2000],
    ["https://user:pw@app.example/cb"],
]


@pytest.mark.parametrize("redirects", BAD_REDIRECTS)
def test_a_bad_redirect_uri_is_invalid_redirect_uri(
    browser: Browser, unchanged: Unchanged, redirects: Any
) -> None:
    oauth_error(register(browser, {**NATIVE, "redirect_uris": redirects}), "invalid_redirect_uri")
    unchanged.check()


BAD_METADATA: list[dict[str, Any]] = [
    {"grant_types": ["implicit"]},
    {"grant_types": ["password"]},
    {"grant_types": "authorization_code"},
    {"response_types": ["token"]},
    {"response_types": ["code"], "grant_types": ["refresh_token"]},
    {"grant_types": ["authorization_code"], "response_types": []},
    {"token_endpoint_auth_method": "client_secret_jwt"},
    {"token_endpoint_auth_method": ["none"]},
    {"client_name": "x" * 201},
    {"client_name": ""},
    {"client_name": "evil\u0085"},
    {"client_name": "moc.elpmaxe\u202e"},  # a bidi override
    {"client_name": "clau\u200bde"},  # zero-width space
    {"client_name": 5},
    {"scope": "openid admin:everything"},
    {"scope": ["openid"]},
    {"scope": " "},
    {"client_uri": "http://app.example/"},
    {"logo_uri": "javascript:alert(1)"},
    {"tos_uri": 3},
    {"contacts": ["a@example.com"] * 2},
    {"contacts": [f"{n}@example.com" for n in range(6)]},
    {"software_id": "s" * 201},
    {"jwks_uri": "https://app.example/jwks"},
    {"jwks": {"keys": []}, "jwks_uri": "https://app.example/jwks"},
    {"jwks": {"keys": []}},
    {"id_token_signed_response_alg": "none"},
    {"application_type": "desktop"},
    {"subject_type": "pairwise"},
    {"dpop_bound_access_tokens": "yes"},
    {"userinfo_signed_response_alg": "RS256"},
    {"token_endpoint_auth_signing_alg": "HS256"},
    {"grant_types": ["authorization_code", "client_credentials"]},  # a public client
]


@pytest.mark.parametrize("change", BAD_METADATA)
def test_bad_metadata_is_invalid_client_metadata(
    browser: Browser, unchanged: Unchanged, change: dict[str, Any]
) -> None:
    oauth_error(register(browser, {**NATIVE, **change}), "invalid_client_metadata")
    unchanged.check()


@pytest.mark.parametrize(
    ("kind", "redirects"),
    [
        ("web", ["http://localhost:8123/cb"]),
        ("web", ["https://localhost/cb"]),
        ("web", ["com.example.app:/cb"]),
        ("native", ["https://app.example/cb"]),
    ],
)
def test_application_type_rules(
    browser: Browser, unchanged: Unchanged, kind: str, redirects: list[str]
) -> None:
    """OIDC Registration 2: web clients use https and no localhost; native clients use
    loopback http or a private-use scheme."""
    doc = {**NATIVE, "application_type": kind, "redirect_uris": redirects}
    oauth_error(register(browser, doc), "invalid_redirect_uri")
    unchanged.check()


@pytest.mark.parametrize(
    ("redirects", "kind"),
    [
        ([LOOPBACK], "native"),
        (["http://[::1]/cb", "com.example.app:/oauth"], "native"),
        (["https://app.example/cb"], "web"),
    ],
)
def test_open_registration_takes_loopback_private_use_and_https_uris(
    browser: Browser, redirects: list[str], kind: str
) -> None:
    answer = register(browser, {**NATIVE, "redirect_uris": redirects})
    assert answer.status == 201, answer.text
    assert answer.json()["application_type"] == kind


@pytest.mark.parametrize(
    "body",
    ["not json", "[]", '{"a": 1, "a": 2}', "{" * 100 + "}" * 100, '"text"'],
)
def test_a_body_that_is_not_one_json_object_is_refused(
    browser: Browser, unchanged: Unchanged, body: str
) -> None:
    oauth_error(register(browser, body), "invalid_client_metadata")
    unchanged.check()


def test_the_wrong_content_type_or_a_huge_body_is_invalid_request(
    browser: Browser, unchanged: Unchanged
) -> None:
    form = register(browser, NATIVE, **{"Content-Type": "application/x-www-form-urlencoded"})
    oauth_error(form, "invalid_request")
    huge = {**NATIVE, "extra": "x" * 20_000}
    oauth_error(register(browser, huge), "invalid_request")
    unchanged.check()


def test_unknown_fields_are_ignored_and_known_ones_kept(browser: Browser, deps: Deps) -> None:
    doc = {
        **NATIVE,
        "client_uri": "https://host.example/",
        "logo_uri": "https://host.example/logo.png",
        "contacts": ["ops@host.example"],
        "software_id": "4NRB1-0XZABZI9E6-5SM3R",
        "software_version": "2.3.0",
        "dpop_bound_access_tokens": True,
        "something_new": {"nested": True},
        "client_id": "chosen-by-the-client",
        "client_secret": "chosen-too",
    }
    body = register(browser, doc).json()
    assert body["client_id"] != "chosen-by-the-client"
    assert "client_secret" not in body and "something_new" not in body
    for name in ("client_uri", "logo_uri", "contacts", "software_id", "software_version"):
        assert body[name] == doc[name]
    stored = deps.store.clients.get(body["client_id"])
    assert stored is not None and stored.metadata["software_version"] == "2.3.0"
    # RFC 9449 5.2: the client asks that every token request carry a DPoP proof.
    assert stored.dpop_bound_access_tokens and body["dpop_bound_access_tokens"] is True
