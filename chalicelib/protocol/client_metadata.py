"""Client metadata (RFC 7591 2, OpenID Connect Dynamic Client Registration 1.0 2) read
strictly into a client registration: every field Tollgate acts on is checked for type,
size and meaning, fields it does not know are ignored (RFC 7591 2), and fields it knows
but cannot honour are refused rather than silently dropped (SECURITY.md 53).

Used by dynamic registration and its updates (chalicelib/endpoints/registration.py) and by
Client ID Metadata Documents (chalicelib/documents/client_documents.py). The rules every
registration shares are then checked by chalicelib/protocol/client_rules.py.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from chalicelib.errors import InvalidClientMetadata, InvalidRedirectUri
from chalicelib.protocol import client_assertion
from chalicelib.protocol import redirect_uri as uris
from chalicelib.stores.models import AUTH_METHODS

# Bounds on what one registration may make us store (SECURITY.md 53).
MAX_REDIRECT_URIS = 10
MAX_URI = 2000
MAX_NAME = 200
MAX_CONTACTS = 5
MAX_CONTACT = 254
MAX_TEXT = 200
MAX_SCOPES = 50
DEFAULT_AUTH_METHOD = "client_secret_basic"  # RFC 7591 2
INFORMATION = ("client_uri", "logo_uri", "tos_uri", "policy_uri")
# Known, but not honoured: refused, because ignoring them would change what the client
# gets without telling it (OIDC Registration 3.3: an OP that cannot honour a value errs).
UNSUPPORTED = (
    "jwks_uri",
    "sector_identifier_uri",
    "id_token_encrypted_response_alg",
    "id_token_encrypted_response_enc",
    "userinfo_signed_response_alg",
    "userinfo_encrypted_response_alg",
    "userinfo_encrypted_response_enc",
    "request_object_encryption_alg",
    "request_uris",
    "tls_client_auth_subject_dn",
)


@dataclass
class Metadata:
    """A registration as read: what a Client is built from, plus what is shown back."""

    name: str
    auth_method: str
    redirect_uris: list[str]
    grant_types: list[str]
    response_types: list[str]
    scopes: list[str]
    application_type: str
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    jwks: dict[str, Any] | None = None
    id_token_alg: str = "RS256"  # noqa: S105 (an algorithm name)
    dpop_bound: bool = False  # RFC 9449 5.2 dpop_bound_access_tokens
    information: dict[str, Any] = field(default_factory=dict)


def read(doc: dict[str, Any], known_scopes: Collection[str]) -> Metadata:
    """The registration `doc` asks for; InvalidClientMetadata or InvalidRedirectUri."""
    for name in UNSUPPORTED:
        if name in doc:
            if name == "jwks_uri" and "jwks" in doc:
                raise InvalidClientMetadata("jwks and jwks_uri are mutually exclusive")
            raise InvalidClientMetadata(f"{name} is not supported")
    if doc.get("subject_type", "public") != "public":
        raise InvalidClientMetadata("subject_type: only public is supported")
    auth_method = _choice(doc, "token_endpoint_auth_method", AUTH_METHODS, DEFAULT_AUTH_METHOD)
    grant_types = _list(doc, "grant_types", 3, 40) or ["authorization_code"]
    code = "authorization_code" in grant_types
    response_types = _list(doc, "response_types", 3, 40)
    if "response_types" not in doc:
        response_types = ["code"] if code else []
    if any(r != "code" for r in response_types):
        raise InvalidClientMetadata("response_types: only code is supported")
    if code != ("code" in response_types):
        # RFC 7591 2.1: the code response type and the authorization_code grant go together.
        raise InvalidClientMetadata("response_types code needs grant_types authorization_code")
    redirects = _redirect_uris(doc, "redirect_uris")
    kind = _application_type(doc, redirects)
    information: dict[str, Any] = {n: _https_uri(doc, n) for n in INFORMATION if n in doc}
    if "contacts" in doc:
        information["contacts"] = _list(doc, "contacts", MAX_CONTACTS, MAX_CONTACT)
    for name in ("software_id", "software_version"):
        if name in doc:
            information[name] = _text(doc, name, MAX_TEXT)
    information["application_type"] = kind
    jwks = None
    if "jwks" in doc:
        try:
            jwks = client_assertion.check_jwks(doc["jwks"])
        except client_assertion.JwksError as error:
            raise InvalidClientMetadata(f"jwks: {error}") from None
    if "token_endpoint_auth_signing_alg" in doc:
        _choice(doc, "token_endpoint_auth_signing_alg", client_assertion.ALGORITHMS, "")
    dpop_bound = doc.get("dpop_bound_access_tokens", False)
    if not isinstance(dpop_bound, bool):
        raise InvalidClientMetadata("dpop_bound_access_tokens must be true or false")
    return Metadata(
        dpop_bound=dpop_bound,
        name=_text(doc, "client_name", MAX_NAME) if "client_name" in doc else "",
        auth_method=auth_method,
        redirect_uris=redirects,
        grant_types=grant_types,
        response_types=response_types,
        scopes=_scopes(doc, known_scopes),
        application_type=kind,
        post_logout_redirect_uris=_redirect_uris(doc, "post_logout_redirect_uris"),
        jwks=jwks,
        id_token_alg=_choice(doc, "id_token_signed_response_alg", ("RS256", "ES256"), "RS256"),
        information=information,
    )


# -- fields -------------------------------------------------------------------------------


def _text(doc: dict[str, Any], name: str, most: int) -> str:
    value = doc[name]
    if not isinstance(value, str) or not value.strip() or len(value) > most:
        raise InvalidClientMetadata(f"{name} must be a non-empty string of at most {most}")
    # Control and format characters (bidi overrides, zero-width) could disguise a name on
    # the consent page.
    if any(unicodedata.category(c) in {"Cc", "Cf", "Cs", "Co", "Cn"} for c in value):
        raise InvalidClientMetadata(f"{name} must not contain control or format characters")
    return value


def _choice(doc: dict[str, Any], name: str, allowed: Collection[str], default: str) -> str:
    if name not in doc:
        return default
    value = doc[name]
    if not isinstance(value, str) or value not in allowed:
        raise InvalidClientMetadata(f"{name} must be one of {', '.join(allowed)}")
    return value


def _list(doc: dict[str, Any], name: str, most: int, longest: int) -> list[str]:
    """A JSON array of distinct non-empty strings (order kept)."""
    if name not in doc:
        return []
    value = doc[name]
    if not isinstance(value, list) or len(value) > most:
        raise InvalidClientMetadata(f"{name} must be an array of at most {most} strings")
    if not all(isinstance(v, str) and 0 < len(v) <= longest for v in value):
        raise InvalidClientMetadata(f"{name} must hold strings of 1 to {longest} characters")
    if len(set(value)) != len(value):
        raise InvalidClientMetadata(f"{name} lists a value twice")
    return list(value)


def _https_uri(doc: dict[str, Any], name: str) -> str:
    value = doc[name]
    if not isinstance(value, str) or not 0 < len(value) <= MAX_URI or not value.isascii():
        raise InvalidClientMetadata(f"{name} must be an https URL of at most {MAX_URI}")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise InvalidClientMetadata(f"{name} is not a URL") from None
    if parts.scheme != "https" or not parts.hostname or any(ord(c) <= 0x20 for c in value):
        raise InvalidClientMetadata(f"{name} must be an https URL")
    return value


def _redirect_uris(doc: dict[str, Any], name: str) -> list[str]:
    if name not in doc:
        return []
    value = doc[name]
    if not isinstance(value, list) or len(value) > MAX_REDIRECT_URIS:
        raise InvalidRedirectUri(f"{name} must be an array of at most {MAX_REDIRECT_URIS} URIs")
    if not all(isinstance(v, str) for v in value):
        raise InvalidRedirectUri(f"{name} must hold strings")
    if len(set(value)) != len(value):
        raise InvalidRedirectUri(f"{name} lists a URI twice")
    for uri in value:
        try:
            uris.validate_registration(uri)
        except uris.InvalidRedirectUri as error:
            raise InvalidRedirectUri(f"{name}: {error}") from None
    return list(value)


def is_native_uri(uri: str) -> bool:
    """A loopback http URI or a private-use scheme (RFC 8252 7.1, 7.3)."""
    scheme = urlsplit(uri).scheme.lower()
    return scheme not in {"http", "https"} or (scheme == "http" and uris.is_loopback(uri))


def _application_type(doc: dict[str, Any], redirects: list[str]) -> str:
    """OIDC Registration 2: web clients use https and never localhost; native clients use a
    loopback http URI or a private-use scheme. RFC 7591 has no application_type, and the
    clients that speak only RFC 7591 (MCP hosts) send none: then it is native when every
    redirect URI is a native one, else web (OIDC's default)."""
    if "application_type" not in doc:
        native = bool(redirects) and all(is_native_uri(u) for u in redirects)
        return "native" if native else "web"
    kind = _choice(doc, "application_type", ("web", "native"), "web")
    for uri in redirects:
        if kind == "native" and not is_native_uri(uri):
            raise InvalidRedirectUri(
                "a native client's redirect URIs are loopback http or a private-use scheme"
            )
        host = (urlsplit(uri).hostname or "").lower()
        if kind == "web" and (urlsplit(uri).scheme != "https" or host in LOOPBACK_NAMES):
            raise InvalidRedirectUri("a web client's redirect URIs use https, not localhost")
    return kind


LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _scopes(doc: dict[str, Any], known: Collection[str]) -> list[str]:
    """RFC 7591 2 `scope`: space-separated; each one the server offers. Absent: all of them."""
    if "scope" not in doc:
        return list(known)
    value = doc["scope"]
    if not isinstance(value, str) or len(value) > MAX_TEXT * 5:
        raise InvalidClientMetadata("scope must be a space-separated string")
    scopes = list(dict.fromkeys(value.split()))
    if not scopes or len(scopes) > MAX_SCOPES:
        raise InvalidClientMetadata(f"scope must name 1 to {MAX_SCOPES} scopes")
    unknown = [s for s in scopes if s not in known]
    if unknown:
        raise InvalidClientMetadata(f"scope {unknown[0][:40]!r} is not offered by this server")
    return scopes
