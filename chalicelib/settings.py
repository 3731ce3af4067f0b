"""Settings: frozen, read from environment variables on first use.

Chalice sets a stage's environment variables only while a request runs, so nothing
here is read at import time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def _int(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{name} must be between {low} and {high}, got {value}")
    return value


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
    # A client whose token response was lost may present the old refresh token again
    # within this many seconds and still end up with working tokens.
    refresh_grace: int = 30
    # The audience put in access tokens when the client asks for none (RFC 8707 comes later).
    default_audience: str = ""
    scopes: tuple[str, ...] = field(default=("openid", "profile", "email", "offline_access"))
    stage: str = "local"

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
    def audience(self) -> str:
        return self.default_audience or self.issuer

    def endpoint(self, path: str) -> str:
        return self.issuer.rstrip("/") + path


def validate_issuer(issuer: str) -> str:
    parts = urlsplit(issuer)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SettingsError("TOLLGATE_ISSUER must be an https URL (http only on loopback)")
    if parts.query or parts.fragment or not parts.hostname:
        raise SettingsError("TOLLGATE_ISSUER must have a host and no query or fragment")
    return issuer.rstrip("/")


def load_settings(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ) if env is None else env
    issuer = env.get("TOLLGATE_ISSUER", "")
    if not issuer:
        raise SettingsError("TOLLGATE_ISSUER is not set")
    table = env.get("TOLLGATE_TABLE", "")
    if not table:
        raise SettingsError("TOLLGATE_TABLE is not set")
    signer = env.get("TOLLGATE_SIGNER", "local")
    if signer not in {"local"}:
        raise SettingsError(f"TOLLGATE_SIGNER {signer!r} is not supported")
    scopes = tuple(env.get("TOLLGATE_SCOPES", "openid profile email offline_access").split())
    return Settings(
        issuer=validate_issuer(issuer),
        table_name=table,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        signer=signer,
        code_ttl=_int(env, "TOLLGATE_CODE_TTL", 60, 1, 600),
        access_token_ttl=_int(env, "TOLLGATE_ACCESS_TOKEN_TTL", 300, 30, 86400),
        interaction_ttl=_int(env, "TOLLGATE_INTERACTION_TTL", 600, 60, 3600),
        session_ttl=_int(env, "TOLLGATE_SESSION_TTL", 8 * 3600, 300, 30 * 86400),
        client_cache_ttl=_int(env, "TOLLGATE_CLIENT_CACHE_TTL", 60, 0, 3600),
        refresh_token_ttl=_int(env, "TOLLGATE_REFRESH_TOKEN_TTL", 14 * 86400, 300, 365 * 86400),
        refresh_grace=_int(env, "TOLLGATE_REFRESH_GRACE", 30, 0, 300),
        default_audience=env.get("TOLLGATE_AUDIENCE", ""),
        scopes=scopes,
        stage=env.get("TOLLGATE_STAGE", "local"),
    )
