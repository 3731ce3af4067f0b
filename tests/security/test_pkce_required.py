"""SECURITY.md item 36: PKCE is required of every client by default (OAuth 2.1 4.1.1); a
per-client opt-out (`client create --allow-no-pkce`, stored as `pkce_required: false`)
exists only for confidential clients, and only takes effect for an OpenID Connect request
that sends a nonce."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from chalicelib.admin.cli import main
from tests.security.conftest import REDIRECT, Server, auth_params, authorize_path, query_of


def register(server: Server, client_id: str, **changes: object) -> str:
    """A copy of a seeded client under a new id, with some fields changed."""
    source = "spa" if changes.get("client_type") == "public" else "web"
    seeded = server.deps.store.clients.get(source)
    assert seeded is not None
    server.deps.store.clients.create(replace(seeded, client_id=client_id, **changes))  # type: ignore[arg-type]
    return client_id


@pytest.mark.parametrize("client_id", ["web", "post"])
@pytest.mark.parametrize(
    "extra",
    [{}, {"nonce": "n-1"}, {"scope": "openid", "nonce": "n-1"}],
    ids=["plain", "nonce", "oidc-with-nonce"],
)
def test_confidential_clients_must_use_pkce(
    server: Server, client_id: str, extra: dict[str, str]
) -> None:
    """SECURITY.md 36: without the opt-out, no request is exempt, OIDC with nonce included."""
    browser = server.browser()
    answer = browser.get(authorize_path(auth_params(client_id, challenge=None, **extra)))
    found = query_of(answer.location or "")
    assert found["error"] == ["invalid_request"], answer.location
    assert "code_challenge" in found["error_description"][0]
    assert server.codes() == []


def test_an_opted_out_client_may_leave_pkce_out_of_oidc_with_a_nonce(server: Server) -> None:
    """SECURITY.md 36: the opt-out works where the ID token's nonce binds the code."""
    register(server, "legacy", pkce_required=False)
    flow = server.sign_in("legacy", pkce=False, scope="openid", nonce="n-1")
    answer = server.redeem(flow)
    assert answer.status == 200, answer.text
    assert "id_token" in answer.json()


@pytest.mark.parametrize(
    "extra",
    [{"scope": "openid"}, {"scope": "profile", "nonce": "n-1"}],
    ids=["oidc-without-nonce", "nonce-without-openid"],
)
def test_the_opt_out_needs_both_openid_and_a_nonce(server: Server, extra: dict[str, str]) -> None:
    register(server, "legacy", pkce_required=False)
    browser = server.browser()
    found = query_of(
        browser.get(authorize_path(auth_params("legacy", challenge=None, **extra))).location or ""
    )
    assert found["error"] == ["invalid_request"]


def test_a_public_client_is_never_exempt(server: Server) -> None:
    """SECURITY.md 36 and 5: even a public client stored with pkce_required false must use it."""
    register(server, "odd-spa", client_type="public", pkce_required=False)
    browser = server.browser()
    params = auth_params("odd-spa", scope="openid", nonce="n-1", challenge=None)
    found = query_of(browser.get(authorize_path(params)).location or "")
    assert found["error"] == ["invalid_request"]


def cli(server: Server, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["--json", "client", "create", "--name", "N", *argv], store=server.deps.store)
    out, err = capsys.readouterr()
    return code, out or err


def test_the_command_line_opts_out_confidential_clients_only(
    server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    """SECURITY.md 36: `--allow-no-pkce` is refused for a public client; PKCE is required by
    default."""
    code, out = cli(server, capsys, "--client-id", "a", "--redirect-uri", REDIRECT)
    assert code == 0 and json.loads(out)["pkce_required"] is True
    code, out = cli(
        server, capsys, "--client-id", "b", "--redirect-uri", REDIRECT, "--allow-no-pkce"
    )
    assert code == 0 and json.loads(out)["pkce_required"] is False
    code, err = cli(
        server, capsys, "--client-id", "c", "--type", "public", "--redirect-uri",
        "http://127.0.0.1/cb", "--allow-no-pkce",
    )  # fmt: skip
    assert code == 2 and "only for confidential clients" in err
    assert server.deps.store.clients.get("c") is None
