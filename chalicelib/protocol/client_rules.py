"""What every client registration must satisfy, whoever makes it: `tollgate client create`
and `client update` (chalicelib/admin/registration.py), RFC 7591 dynamic registration and
its RFC 7592 updates (chalicelib/endpoints/registration.py), and Client ID Metadata
Documents. One set of rules, so no path can store a client another would refuse."""

from __future__ import annotations

from chalicelib.stores.models import CONFIDENTIAL, FAPI2, PUBLIC, Client

GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
PRIVATE_KEY_JWT = "private_key_jwt"
SECRET_METHODS = ("client_secret_basic", "client_secret_post")


class ClientRuleError(ValueError):
    """The registration breaks a rule; the message names it."""


def type_of(auth_method: str) -> str:
    """A client that authenticates with nothing is public; every other is confidential."""
    return PUBLIC if auth_method == "none" else CONFIDENTIAL


def check(client: Client) -> None:
    """ClientRuleError naming the first rule the registration breaks."""
    public = client.client_type == PUBLIC
    if public != (client.auth_method == "none"):
        raise ClientRuleError("a public client authenticates with none, and only a public one")
    if client.auth_method == PRIVATE_KEY_JWT and client.jwks is None:
        raise ClientRuleError(
            "private_key_jwt needs the client's public keys (jwks): --jwks-file PATH or --jwks JSON"
        )
    if client.auth_method != PRIVATE_KEY_JWT and client.jwks is not None:
        raise ClientRuleError(
            "jwks (--jwks, --jwks-file) are only for --auth-method private_key_jwt"
        )
    if public and client.may_introspect:
        raise ClientRuleError("--introspect is only for confidential clients (resource servers)")
    if public and not client.pkce_required:
        raise ClientRuleError("--allow-no-pkce is only for confidential clients (SECURITY.md 36)")
    grants = client.grant_types
    if not grants:
        raise ClientRuleError("a client needs at least one grant type")
    unknown = [g for g in grants if g not in GRANT_TYPES]
    if unknown:
        raise ClientRuleError(f"unsupported grant type {unknown[0]!r}")
    if public and "client_credentials" in grants:
        raise ClientRuleError("client_credentials is only for confidential clients")
    if "refresh_token" in grants and "authorization_code" not in grants:
        raise ClientRuleError("refresh_token needs the authorization_code grant type as well")
    if "authorization_code" in grants and not client.redirect_uris:
        raise ClientRuleError(
            "the authorization_code grant needs at least one --redirect-uri (redirect_uris)"
        )
    if not client.scopes:
        raise ClientRuleError("a client needs at least one scope")
    if client.profile == FAPI2:
        check_fapi2(client)


def check_fapi2(client: Client) -> None:
    """The FAPI 2.0 Security Profile's rules a registration can break (docs/fapi2.md,
    SECURITY.md 64), however the registration was made or changed."""
    if client.auth_method != PRIVATE_KEY_JWT:
        raise ClientRuleError(
            "a fapi2 client authenticates with private_key_jwt only (--auth-method,"
            " token_endpoint_auth_method; FAPI 2.0 5.3.2.1-6)"
        )
    if not client.pkce_required:
        raise ClientRuleError("a fapi2 client always requires PKCE (FAPI 2.0 5.3.2.2-5)")
    if any(not uri.startswith("https://") for uri in client.redirect_uris):
        raise ClientRuleError("a fapi2 client needs https redirect URIs (FAPI 2.0 5.3.2.2-8)")
    if not client.dpop_bound_access_tokens:
        raise ClientRuleError(
            "a fapi2 client needs DPoP-bound tokens (--dpop-required, dpop_bound_access_tokens;"
            " FAPI 2.0 5.3.2.1-4)"
        )
    if client.id_token_signed_response_alg != "ES256":  # noqa: S105 (an algorithm)
        raise ClientRuleError(
            "a fapi2 client's ID tokens are ES256 (--id-token-alg, id_token_signed_response_alg;"
            " FAPI 2.0 5.4.1: no RS256)"
        )
