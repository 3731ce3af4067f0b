"""What a client registration must satisfy, shared by `client create` and `client update`:
both build the whole registration and then run the same `check`, so an update can never
leave a client that create would have refused."""

from __future__ import annotations

from typing import Any

from chalicelib import ids
from chalicelib.admin.args import NotFound, UsageError
from chalicelib.admin.output import fields, when
from chalicelib.protocol import client_rules
from chalicelib.stores.models import PUBLIC, Client
from chalicelib.stores.repository import Store

DEFAULT_GRANT_TYPES = ["authorization_code"]
GRANT_TYPES = client_rules.GRANT_TYPES
PRIVATE_KEY_JWT = client_rules.PRIVATE_KEY_JWT
SECRET_METHODS = client_rules.SECRET_METHODS
type_of = client_rules.type_of
SHOWN_ONCE = "The secret is shown only now: Tollgate keeps only its hash. Store it safely."


def check_method(client_type: str, auth_method: str) -> None:
    """A public client authenticates with nothing, a confidential one with something."""
    public = client_type == PUBLIC
    if public and auth_method != "none":
        raise UsageError(
            f"a public client cannot authenticate with {auth_method}: it has no secret "
            "(use --auth-method none, or --type confidential)"
        )
    if not public and auth_method == "none":
        raise UsageError(
            "a confidential client authenticates with client_secret_basic, "
            "client_secret_post or private_key_jwt (use --type public for --auth-method none)"
        )


def check(client: Client) -> None:
    """UsageError naming the first rule the registration breaks (the rules every
    registration shares: chalicelib/protocol/client_rules.py)."""
    check_method(client.client_type, client.auth_method)
    try:
        client_rules.check(client)
    except client_rules.ClientRuleError as error:
        raise UsageError(str(error)) from None


def needs_secret(auth_method: str) -> bool:
    return auth_method in SECRET_METHODS


def set_auth_method(client: Client, auth_method: str) -> str | None:
    """Move the client to `auth_method` (and the type it implies). Returns a new secret when
    the client had none and now needs one (printed once by the caller); a client that no
    longer authenticates with a secret loses its hash, one that keeps a secret method keeps
    its secret, and keys stay only with private_key_jwt."""
    client.auth_method = auth_method
    client.client_type = type_of(auth_method)
    if auth_method != PRIVATE_KEY_JWT:
        client.jwks = None
    if not needs_secret(auth_method):
        client.secret_hash = None
        return None
    if client.secret_hash is not None:
        return None
    secret = ids.new_secret()
    client.secret_hash = ids.digest(secret)
    return secret


# -- how a registration is shown --------------------------------------------------------


def client_view(client: Client) -> dict[str, Any]:
    """A client as shown to an admin: named fields only, so no stored hash can slip out."""
    return {
        "client_id": client.client_id,
        "name": client.name,
        "client_type": client.client_type,
        "auth_method": client.auth_method,
        "redirect_uris": list(client.redirect_uris),
        "grant_types": list(client.grant_types),
        "scopes": list(client.scopes),
        "has_secret": client.secret_hash is not None,
        "may_introspect": client.may_introspect,
        "id_token_signed_response_alg": client.id_token_signed_response_alg,
        "post_logout_redirect_uris": list(client.post_logout_redirect_uris),
        "resources": list(client.resources),
        "jwks": client.jwks,  # public keys only (private_key_jwt)
        "pkce_required": client.pkce_required,
        "dpop_bound_access_tokens": client.dpop_bound_access_tokens,
        "require_pushed_authorization_requests": client.require_pushed_authorization_requests,
        "profile": client.profile or None,
        "require_mfa": client.require_mfa,
        "scope_policy": client.scope_policy,
        "created_at": client.created_at,
        "origin": client.origin,
    }


def client_text(client: Client) -> str:
    return fields(
        [
            ("client_id", client.client_id),
            ("name", client.name),
            ("type", client.client_type),
            ("auth_method", client.auth_method),
            ("redirect_uris", client.redirect_uris),
            ("grant_types", " ".join(client.grant_types)),
            ("scopes", " ".join(client.scopes)),
            ("scope_policy", client.scope_policy),
            ("resources", client.resources),
            ("post_logout_uris", client.post_logout_redirect_uris),
            ("id_token_alg", client.id_token_signed_response_alg),
            ("secret", "set (only its hash is stored)" if client.secret_hash else "none"),
            ("introspects", "every token" if client.may_introspect else "its own tokens"),
            ("dpop", "required" if client.dpop_bound_access_tokens else "optional"),
            ("keys", kids(client)),
            ("par", "required" if client.require_pushed_authorization_requests else "optional"),
            ("profile", client.profile or "-"),
            ("mfa", "required" if client.require_mfa else "as the user or request asks"),
            ("created", when(client.created_at)),
            ("origin", client.origin),
        ]
    )


def kids(client: Client) -> str:
    if not client.jwks:
        return "-"
    return ", ".join(str(jwk.get("kid")) for jwk in client.jwks.get("keys", []))


def require_client(store: Store, client_id: str) -> Client:
    client = store.clients.get(client_id)
    if client is None:
        raise NotFound(f"no client with id {client_id!r}")
    return client
