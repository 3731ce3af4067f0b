"""A value with a line feed after it is not the value: in a Python pattern `$` also matches
just before a final "\\n", so a pattern checked with `match` let such values through (into a
header literal, a stored PKCE challenge, a scope). Every validation pattern is applied whole
(`fullmatch`); each case below is refused with its "\\n" and accepted without it."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from chalicelib.admin.args import UsageError, parse_client_id
from chalicelib.authorizer.policy import glob_match
from chalicelib.errors import InvalidGrant, InvalidRequest, InvalidScope
from chalicelib.protocol import pkce, scope
from chalicelib.setting_values import SettingsError, validate_issuer
from infra.config import ConfigError, stage_config, valid_api_url

VERIFIER = "v" * 43
CHALLENGE = pkce.s256(VERIFIER)
API_URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"

CHECKS: dict[str, tuple[Callable[[str], object], str, type[Exception]]] = {
    "PKCE challenge": (
        lambda v: pkce.check_challenge(v, "S256", required=True),
        CHALLENGE,
        InvalidRequest,
    ),
    "PKCE verifier": (lambda v: pkce.verify(CHALLENGE, v), VERIFIER, InvalidGrant),
    "scope token": (scope.parse, "notes:read", InvalidScope),
    "client id (CLI)": (parse_client_id, "nightly-job", UsageError),
    "stage name": (lambda v: stage_config(v, {}), "dev", ConfigError),
}


@pytest.mark.parametrize("name", sorted(CHECKS))
@pytest.mark.parametrize("end", ["\n", "\r\n"])
def test_a_line_end_after_a_valid_value_is_refused(name: str, end: str) -> None:
    check, valid, refused = CHECKS[name]
    check(valid)  # the value itself passes
    with pytest.raises(refused):
        check(valid + end)


def test_an_api_url_for_a_header_literal_has_no_line_end() -> None:
    assert valid_api_url(API_URL, "dev")
    assert not valid_api_url(API_URL + "\n", "dev")
    with pytest.raises(ConfigError):
        stage_config("dev", {"apiUrl": API_URL + "\n"})


def test_a_method_arn_glob_matches_only_whole() -> None:
    assert glob_match("arn:aws:execute-api:*/GET/api/notes", "arn:aws:execute-api:x/GET/api/notes")
    assert not glob_match(
        "arn:aws:execute-api:*/GET/api/notes", "arn:aws:execute-api:x/GET/api/notes\n"
    )


@pytest.mark.parametrize("bad", ["\r\n", "\n", "\t", " "])
def test_an_issuer_with_a_line_end_or_space_inside_is_refused(bad: str) -> None:
    """urlsplit drops tabs and line ends before parsing, so its checks alone let them in."""
    assert validate_issuer("https://auth.example.com") == "https://auth.example.com"
    with pytest.raises(SettingsError):
        validate_issuer(f"https://auth.exa{bad}mple.com")
