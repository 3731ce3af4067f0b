"""Settings: frozen, read from environment variables on first use.

Chalice sets a stage's environment variables only while a request runs, so nothing
here is read at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TypedDict
from urllib.parse import urlsplit

from chalicelib import setting_values

SIGNERS = ("local", "envelope", "kms")
# TOLLGATE_REGISTRATION (README "Client registration"): off; open to public clients with an
# initial access token for the rest ("public"); open to every client that acts for a user
# ("open"); or an initial access token for all ("token").
REGISTRATION_MODES = ("off", "public", "open", "token")

# The parsing helpers live in setting_values.py: the standalone authorizer reads its own
# few settings with them without loading this module's Settings (a cold start pays each).
SettingsError = setting_values.SettingsError
validate_issuer = setting_values.validate_issuer
_int = setting_values.int_setting
_bool = setting_values.bool_setting


DEFAULT_SCOPES = "openid profile email offline_access notes:read notes:write"


@dataclass(frozen=True)
class Settings:
    issuer: str
    table_name: str
    region: str = "us-east-1"
    endpoint_url: str | None = None
    signer: str = "local"
    # Lifetimes in seconds.
    code_ttl: int = 60
    access_token_ttl: int = 300
    interaction_ttl: int = 600
    session_ttl: int = 8 * 3600
    client_cache_ttl: int = 60
    refresh_token_ttl: int = 14 * 86400
    # 0: refresh tokens rotate strictly (SECURITY.md 28). Above 0, a confidential client
    # whose token response was lost may present the old refresh token again within this
    # many seconds and still end up with working tokens (README, "Refresh tokens").
    refresh_grace: int = 0
    # The audience put in access tokens when the client asks for none (RFC 8707 comes later).
    default_audience: str = ""
    scopes: tuple[str, ...] = field(default=tuple(DEFAULT_SCOPES.split()))
    stage: str = "local"
    # Authorizer: check each access token's grant in the table (README, "Revocation").
    revocation_check: bool = False
    # Signer modes (chalicelib/tokens/signer.py): envelope encrypts keys under kms_key_id;
    # kms signs with the asymmetric KMS keys named per algorithm.
    kms_key_id: str = ""
    kms_signing_key_es256: str = ""
    kms_signing_key_rs256: str = ""
    # Brute-force limits (chalicelib/accounts/rate_limit.py): failures per fixed window.
    login_window: int = 15 * 60
    login_limit_account_ip: int = 10  # one account from one source address
    login_limit_account: int = 100  # one account from anywhere
    login_limit_ip: int = 50  # any accounts from one source address
    client_auth_window: int = 5 * 60
    client_auth_limit_client_ip: int = 20  # one client_id from one source address
    client_auth_limit_client: int = 200  # one client_id from anywhere
    client_auth_limit_ip: int = 100  # any client_ids from one source address
    # Pending authorizations stored for one source address (IPv6: one /56) per window.
    authorize_window: int = 5 * 60
    authorize_limit_ip: int = 300
    # DPoP server nonces (RFC 9449 8) at the token endpoint and UserInfo: every proof must
    # carry a nonce this server issued within the last few minutes (tokens/dpop_nonce.py).
    dpop_nonce: bool = False
    # Pushed authorization requests (RFC 9126): how long a request_uri lives, and whether
    # every client must push its authorization requests.
    par_ttl: int = 60
    require_par: bool = False
    # Client registration (README "Client registration (DCR and metadata documents)").
    registration: str = "public"
    registration_window: int = 3600
    registration_limit_ip: int = 20  # registrations per source address (IPv6 /56) and window
    registration_unused_ttl: int = 86400  # a dynamic client never used is deleted then
    metadata_documents: bool = True  # Client ID Metadata Documents accepted as client_id
    document_max_bytes: int = 5120
    document_timeout: float = 3.0  # seconds for the whole fetch, name lookup to last byte
    document_cache_min: int = 300
    document_cache_max: int = 86400
    document_limit_ip: int = 30  # document fetches per source address and window
    # Development and tests only (refused in prod): trust this CA bundle for document
    # fetches, and let them reach private addresses (a local test server).
    document_ca_bundle: str = ""
    document_allow_private: bool = False

    @property
    def demo_enabled(self) -> bool:
        """The demo pages and API are switched on per stage: never in prod."""
        return self.stage in {"local", "dev"}

    @property
    def is_loopback_http(self) -> bool:
        """Local mode over plain http on a loopback host: cookies cannot be Secure."""
        parts = urlsplit(self.issuer)
        return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}

    @property
    def max_token_lifetime(self) -> int:
        """The longest lifetime of any JWT Tollgate signs (a retired key stays published
        this long): access and ID tokens both live access_token_ttl."""
        return self.access_token_ttl

    @property
    def kms_signing_keys(self) -> dict[str, str]:
        keys = {"ES256": self.kms_signing_key_es256, "RS256": self.kms_signing_key_rs256}
        return {alg: key for alg, key in keys.items() if key}

    @property
    def audience(self) -> str:
        return self.default_audience or self.issuer

    @property
    def userinfo_audience(self) -> str:
        """The `aud` UserInfo accepts: its own URL, which no API shares."""
        return self.endpoint("/userinfo")

    def endpoint(self, path: str) -> str:
        return self.issuer.rstrip("/") + path


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    issuer = env.get("TOLLGATE_ISSUER", "")
    if not issuer:
        raise SettingsError("TOLLGATE_ISSUER is not set")
    table = env.get("TOLLGATE_TABLE", "")
    if not table:
        raise SettingsError("TOLLGATE_TABLE is not set")
    stage = env.get("TOLLGATE_STAGE", "local")
    scopes = tuple(env.get("TOLLGATE_SCOPES", DEFAULT_SCOPES).split())
    return Settings(
        issuer=validate_issuer(issuer),
        table_name=table,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        code_ttl=_int(env, "TOLLGATE_CODE_TTL", 60, 1, 600),
        access_token_ttl=_int(env, "TOLLGATE_ACCESS_TOKEN_TTL", 300, 30, 86400),
        interaction_ttl=_int(env, "TOLLGATE_INTERACTION_TTL", 600, 60, 3600),
        session_ttl=_int(env, "TOLLGATE_SESSION_TTL", 8 * 3600, 300, 30 * 86400),
        client_cache_ttl=_int(env, "TOLLGATE_CLIENT_CACHE_TTL", 60, 0, 3600),
        refresh_token_ttl=_int(env, "TOLLGATE_REFRESH_TOKEN_TTL", 14 * 86400, 300, 365 * 86400),
        refresh_grace=_int(env, "TOLLGATE_REFRESH_GRACE", 0, 0, 300),
        default_audience=env.get("TOLLGATE_AUDIENCE", ""),
        scopes=scopes,
        stage=stage,
        revocation_check=_bool(env, "TOLLGATE_REVOCATION_CHECK", False),
        dpop_nonce=_bool(env, "TOLLGATE_DPOP_NONCE", False),
        # FAPI 2.0 5.3.2.2-12: a request_uri lives less than 600 seconds.
        par_ttl=_int(env, "TOLLGATE_PAR_TTL", 60, 10, 599),
        require_par=_bool(env, "TOLLGATE_REQUIRE_PAR", False),
        **_rate_limit_settings(env),
        **_signer_settings(env, stage),
        **_registration_settings(env, stage),
    )


class _RateLimitSettings(TypedDict):
    login_window: int
    login_limit_account_ip: int
    login_limit_account: int
    login_limit_ip: int
    client_auth_window: int
    client_auth_limit_client_ip: int
    client_auth_limit_client: int
    client_auth_limit_ip: int
    authorize_window: int
    authorize_limit_ip: int


def _rate_limit_settings(env: dict[str, str]) -> _RateLimitSettings:
    """TOLLGATE_LOGIN_*, TOLLGATE_CLIENT_AUTH_* (windows in seconds, limits in failures) and
    TOLLGATE_AUTHORIZE_* (pending authorizations stored per source address)."""
    most = 1_000_000
    return {
        "login_window": _int(env, "TOLLGATE_LOGIN_WINDOW", 15 * 60, 60, 86400),
        "login_limit_account_ip": _int(env, "TOLLGATE_LOGIN_LIMIT_ACCOUNT_IP", 10, 1, most),
        "login_limit_account": _int(env, "TOLLGATE_LOGIN_LIMIT_ACCOUNT", 100, 1, most),
        "login_limit_ip": _int(env, "TOLLGATE_LOGIN_LIMIT_IP", 50, 1, most),
        "client_auth_window": _int(env, "TOLLGATE_CLIENT_AUTH_WINDOW", 5 * 60, 60, 86400),
        "client_auth_limit_client_ip": _int(
            env, "TOLLGATE_CLIENT_AUTH_LIMIT_CLIENT_IP", 20, 1, most
        ),
        "client_auth_limit_client": _int(env, "TOLLGATE_CLIENT_AUTH_LIMIT_CLIENT", 200, 1, most),
        "client_auth_limit_ip": _int(env, "TOLLGATE_CLIENT_AUTH_LIMIT_IP", 100, 1, most),
        "authorize_window": _int(env, "TOLLGATE_AUTHORIZE_WINDOW", 5 * 60, 60, 86400),
        "authorize_limit_ip": _int(env, "TOLLGATE_AUTHORIZE_LIMIT_IP", 300, 1, most),
    }


class _SignerSettings(TypedDict):
    signer: str
    kms_key_id: str
    kms_signing_key_es256: str
    kms_signing_key_rs256: str


def _signer_settings(env: dict[str, str], stage: str) -> _SignerSettings:
    """TOLLGATE_SIGNER and the KMS keys its mode needs."""
    signer = env.get("TOLLGATE_SIGNER", "local")
    if signer not in SIGNERS:
        raise SettingsError(f"TOLLGATE_SIGNER must be one of {', '.join(SIGNERS)}, got {signer!r}")
    if signer == "local" and stage == "prod":
        raise SettingsError("TOLLGATE_SIGNER local keeps keys in the clear: not for prod")
    values: _SignerSettings = {
        "signer": signer,
        "kms_key_id": env.get("TOLLGATE_KMS_KEY_ID", ""),
        "kms_signing_key_es256": env.get("TOLLGATE_KMS_SIGNING_KEY_ES256", ""),
        "kms_signing_key_rs256": env.get("TOLLGATE_KMS_SIGNING_KEY_RS256", ""),
    }
    if signer == "envelope" and not values["kms_key_id"]:
        raise SettingsError("TOLLGATE_SIGNER envelope needs TOLLGATE_KMS_KEY_ID")
    if signer == "kms" and not (
        values["kms_signing_key_es256"] and values["kms_signing_key_rs256"]
    ):
        raise SettingsError("TOLLGATE_SIGNER kms needs TOLLGATE_KMS_SIGNING_KEY_ES256 and _RS256")
    return values


class _RegistrationSettings(TypedDict):
    registration: str
    registration_window: int
    registration_limit_ip: int
    registration_unused_ttl: int
    metadata_documents: bool
    document_max_bytes: int
    document_timeout: float
    document_cache_min: int
    document_cache_max: int
    document_limit_ip: int
    document_ca_bundle: str
    document_allow_private: bool


def _registration_settings(env: dict[str, str], stage: str) -> _RegistrationSettings:
    """TOLLGATE_REGISTRATION* and TOLLGATE_DOCUMENT_* (README, "Client registration")."""
    mode = env.get("TOLLGATE_REGISTRATION", "public")
    if mode not in REGISTRATION_MODES:
        raise SettingsError(f"TOLLGATE_REGISTRATION must be one of {', '.join(REGISTRATION_MODES)}")
    low = _int(env, "TOLLGATE_DOCUMENT_CACHE_MIN", 300, 0, 86400)
    values: _RegistrationSettings = {
        "registration": mode,
        "registration_window": _int(env, "TOLLGATE_REGISTRATION_WINDOW", 3600, 60, 86400),
        "registration_limit_ip": _int(env, "TOLLGATE_REGISTRATION_LIMIT_IP", 20, 1, 1_000_000),
        "registration_unused_ttl": _int(
            env, "TOLLGATE_REGISTRATION_UNUSED_TTL", 86400, 300, 365 * 86400
        ),
        "metadata_documents": _bool(env, "TOLLGATE_METADATA_DOCUMENTS", True),
        "document_max_bytes": _int(env, "TOLLGATE_DOCUMENT_MAX_BYTES", 5120, 512, 65536),
        "document_timeout": _int(env, "TOLLGATE_DOCUMENT_TIMEOUT_MS", 3000, 100, 10000) / 1000,
        "document_cache_min": low,
        "document_cache_max": _int(env, "TOLLGATE_DOCUMENT_CACHE_MAX", 86400, low, 7 * 86400),
        "document_limit_ip": _int(env, "TOLLGATE_DOCUMENT_LIMIT_IP", 30, 1, 1_000_000),
        "document_ca_bundle": env.get("TOLLGATE_DOCUMENT_CA_BUNDLE", ""),
        "document_allow_private": _bool(env, "TOLLGATE_DOCUMENT_ALLOW_PRIVATE", False),
    }
    if stage == "prod" and (values["document_ca_bundle"] or values["document_allow_private"]):
        raise SettingsError(
            "TOLLGATE_DOCUMENT_CA_BUNDLE and TOLLGATE_DOCUMENT_ALLOW_PRIVATE are for tests "
            "and development only: not for prod"
        )
    return values
