"""The standalone authorizer's configuration, from environment variables (read on first use).

TOLLGATE_ISSUER               the issuer, exactly as in the tokens' `iss` (required)
TOLLGATE_AUDIENCE             this API's audience, which `aud` must contain (default: issuer);
                              its URI as registered (`tollgate resource create --uri`)
TOLLGATE_RESOURCE_METADATA    the URL of the API's RFC 9728 metadata, named in its 401 and
                              403 challenges (default: the well-known URL of the audience)
TOLLGATE_ROUTE_POLICY         route patterns -> scopes: JSON, or a path to a JSON file
                              (relative to the Lambda's task root) (required)
TOLLGATE_JWKS_URI             skip discovery and fetch the keys here (optional)
TOLLGATE_LEEWAY               seconds of clock skew allowed on exp/iat/nbf (default 30)
TOLLGATE_JWKS_MAX_AGE         seconds the keys are kept before a reload (default 300)
TOLLGATE_JWKS_MIN_REFETCH     at most one reload per this many seconds on an unknown kid
                              (default 30)
TOLLGATE_REVOCATION_CHECK     true: also read the token's grant and revocation (its jti)
                              from the table (default off)
TOLLGATE_TABLE                the table holding grants (needed by the revocation check) and
                              the used DPoP proofs (without it, DPoP requests are refused)
TOLLGATE_AUTHORIZER_CACHE_TTL the result cache TTL (seconds) of the API Gateway authorizer
                              that calls this function (default 60). DPoP requests are
                              accepted only at 0: with a cache, API Gateway would answer a
                              later request from the cached allow without its proof
                              (SECURITY.md 45), so they are refused
TOLLGATE_API_URL              the API's base URL as clients call it, e.g.
                              https://api.example.com/v1 (a custom domain's base path) or
                              https://<id>.execute-api.<region>.amazonaws.com/prod; a DPoP
                              proof's htu must be this plus the resource path. Unset: https://
                              + the Host header + the path API Gateway saw (stage included)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from chalicelib.authorizer.metadata import metadata_url
from chalicelib.authorizer.policy import PolicyError, RoutePolicy
from chalicelib.authorizer.validate import DEFAULT_LEEWAY
from chalicelib.setting_values import SettingsError, validate_issuer
from chalicelib.setting_values import bool_setting as _bool
from chalicelib.setting_values import int_setting as _int


@dataclass(frozen=True)
class AuthorizerConfig:
    issuer: str
    audience: str
    policy: RoutePolicy
    jwks_uri: str | None = None
    leeway: int = DEFAULT_LEEWAY
    jwks_max_age: int = 300
    jwks_min_refetch: int = 30
    revocation_check: bool = False
    table_name: str = ""
    region: str = "us-east-1"
    endpoint_url: str | None = None
    api_url: str | None = None
    resource_metadata: str = ""
    cache_ttl: int = 60

    @property
    def accepts_dpop(self) -> bool:
        """Only an authorizer that API Gateway calls for every request can check a proof."""
        return self.cache_ttl == 0


def from_env(
    env: Mapping[str, str] | None = None, base: str | os.PathLike[str] | None = None
) -> AuthorizerConfig:
    values = dict(os.environ if env is None else env)
    issuer = values.get("TOLLGATE_ISSUER", "")
    if not issuer:
        raise SettingsError("TOLLGATE_ISSUER is not set")
    issuer = validate_issuer(issuer)
    raw_policy = values.get("TOLLGATE_ROUTE_POLICY", "")
    if not raw_policy:
        raise SettingsError("TOLLGATE_ROUTE_POLICY is not set")
    root = base or values.get("LAMBDA_TASK_ROOT") or os.getcwd()
    try:
        policy = RoutePolicy.load(raw_policy, root)
    except PolicyError as error:
        raise SettingsError(f"TOLLGATE_ROUTE_POLICY: {error}") from None
    revocation_check = _bool(values, "TOLLGATE_REVOCATION_CHECK", False)
    table = values.get("TOLLGATE_TABLE", "")
    if revocation_check and not table:
        raise SettingsError("TOLLGATE_REVOCATION_CHECK needs TOLLGATE_TABLE")
    audience = values.get("TOLLGATE_AUDIENCE") or issuer
    return AuthorizerConfig(
        issuer=issuer,
        audience=audience,
        policy=policy,
        jwks_uri=values.get("TOLLGATE_JWKS_URI") or None,
        leeway=_int(values, "TOLLGATE_LEEWAY", DEFAULT_LEEWAY, 0, 300),
        jwks_max_age=_int(values, "TOLLGATE_JWKS_MAX_AGE", 300, 10, 86400),
        jwks_min_refetch=_int(values, "TOLLGATE_JWKS_MIN_REFETCH", 30, 1, 3600),
        revocation_check=revocation_check,
        table_name=table,
        region=values.get("AWS_REGION") or values.get("AWS_DEFAULT_REGION") or "us-east-1",
        endpoint_url=values.get("AWS_ENDPOINT_URL") or None,
        api_url=_api_url(values.get("TOLLGATE_API_URL", "")),
        resource_metadata=values.get("TOLLGATE_RESOURCE_METADATA") or metadata_url(audience),
        cache_ttl=_int(values, "TOLLGATE_AUTHORIZER_CACHE_TTL", 60, 0, 3600),
    )


def _api_url(value: str) -> str | None:
    if not value:
        return None
    try:
        return validate_issuer(value)  # the same shape: https, a host, no query or fragment
    except SettingsError:
        raise SettingsError("TOLLGATE_API_URL must be an https URL without query") from None
