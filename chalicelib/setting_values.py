"""How settings are read from environment variables: the parsing rules shared by the app's
Settings (settings.py) and the standalone authorizer's own configuration."""

from __future__ import annotations

from urllib.parse import urlsplit


class SettingsError(ValueError):
    """A setting is missing or malformed."""


def int_setting(env: dict[str, str], name: str, default: int, low: int, high: int) -> int:
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


def bool_setting(env: dict[str, str], name: str, default: bool) -> bool:
    raw = (env.get(name) or "").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise SettingsError(f"{name} must be true or false, got {raw!r}")


def validate_issuer(issuer: str) -> str:
    # urlsplit drops tabs and line ends before it parses: checked here, or they would pass.
    if any(ord(c) <= 0x20 or ord(c) == 0x7F for c in issuer):
        raise SettingsError("TOLLGATE_ISSUER must not contain spaces or control characters")
    parts = urlsplit(issuer)
    loopback = parts.hostname in {"127.0.0.1", "localhost", "::1"}
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise SettingsError("TOLLGATE_ISSUER must be an https URL (http only on loopback)")
    if parts.query or parts.fragment or not parts.hostname:
        raise SettingsError("TOLLGATE_ISSUER must have a host and no query or fragment")
    return issuer.rstrip("/")
