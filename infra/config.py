"""Per-stage deployment settings: defaults here, overrides from CDK context.

    cdk synth -c stage=dev                       the stage (default dev)
    cdk synth -c stage=prod -c domainName=auth.example.com -c certificateArn=arn:...

Any setting can also live in cdk.json under {"context": {"tollgate": {"<stage>": {...}}}},
with the same camelCase names. A flat key (a `-c` flag) wins over the stage's section.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from chalicelib.authorizer.policy import PolicyError, RoutePolicy

STAGE_NAME = re.compile(r"^[a-z][a-z0-9]{0,15}$")
SIGNERS = ("envelope", "kms")  # `local` keeps private keys in the clear: never deployed
MAX_AUTHORIZER_CACHE_TTL = 3600  # API Gateway's own bound on an authorizer's cache
DEFAULT_ROUTE_POLICY = "{}"  # no route: every token is refused until you name yours
ROOT = Path(__file__).resolve().parent.parent
REGISTRATION_MODES = ("public", "open", "token", "off")  # chalicelib/settings.py, the same
# Log retentions CloudWatch offers (days -> aws_logs.RetentionDays member).
RETENTION_DAYS = {
    1: "ONE_DAY",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    90: "THREE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
    731: "TWO_YEARS",
}


class ConfigError(ValueError):
    """A stage setting is missing or malformed."""


@dataclass(frozen=True)
class StageConfig:
    stage: str
    signer: str = "envelope"
    # Optional custom domain: the issuer becomes https://<domain_name>. The ACM certificate
    # must be in the stack's region (the API is REGIONAL); point DNS at the DomainTarget output.
    domain_name: str = ""
    certificate_arn: str = ""
    # API Gateway stage throttling: steady requests per second and burst, for every route.
    throttle_rate: float = 100.0
    throttle_burst: int = 200
    access_token_ttl: int = 300
    # Who gets the alarms (an SNS topic with an email subscription); none: alarms only.
    alarm_email: str = ""
    log_retention_days: int = 30
    # Failed logins in 5 minutes that raise the LoginFailures alarm.
    login_failure_alarm: int = 50
    # API Gateway writes access logs only once the account names a role for it (one setting
    # per account and region): false when another stack already manages that setting.
    api_gateway_account_role: bool = True
    # The standalone authorizer's route -> scopes map (chalicelib/authorizer/policy.py): JSON,
    # or the path of a JSON file (from the project root: examples/protected-api/routes.json).
    # The default lets nothing through.
    authorizer_route_policy: str = DEFAULT_ROUTE_POLICY
    # The result cache TTL of the API Gateway authorizer that will call the standalone one
    # (TOLLGATE_AUTHORIZER_CACHE_TTL): it accepts DPoP only at 0 (README "DPoP at the edge").
    authorizer_cache_ttl: int = 60
    # The audience the standalone authorizer requires in `aud`: your API's URI, as its
    # clients ask for it with `resource` (default: the issuer, Tollgate's own audience).
    authorizer_audience: str = ""
    # Client registration (README "Client registration"): TOLLGATE_REGISTRATION and
    # TOLLGATE_METADATA_DOCUMENTS of the stage's functions.
    registration: str = "public"
    metadata_documents: bool = True
    # The URLs the stage's API and the example's API were given by API Gateway, once they
    # exist (`make deploy` reads them from the stacks: infra/api_urls.py): the 401 and 403
    # challenges then name the RFC 9728 metadata literally (infra/api.py).
    api_url: str = ""
    example_api_url: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def prod(self) -> bool:
        return self.stage == "prod"

    @property
    def table_name(self) -> str:
        return f"tollgate-{self.stage}"

    @property
    def stack_name(self) -> str:
        return f"tollgate-{self.stage}"

    def name(self, suffix: str) -> str:
        """A resource name unique to the stage (functions, log groups, aliases)."""
        return f"tollgate-{self.stage}-{suffix}"


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _coerce(name: str, value: Any, default: Any) -> Any:
    try:
        if isinstance(default, bool):
            return value if isinstance(value, bool) else str(value).lower() == "true"
        if isinstance(default, int):
            return int(value)
        if isinstance(default, float):
            return float(value)
        if isinstance(default, dict):
            loaded = json.loads(value) if isinstance(value, str) else value
            if not isinstance(loaded, dict):
                raise ConfigError(f"{_camel(name)} must be a JSON object")
            return {str(k): str(v) for k, v in loaded.items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{_camel(name)}: {exc}") from None
    if name == "authorizer_route_policy" and not isinstance(value, str):
        return json.dumps(value)
    return str(value)


def stage_config(stage: str, context: dict[str, Any]) -> StageConfig:
    """The settings of `stage`: defaults, then cdk.json's tollgate.<stage>, then `-c` flags."""
    if not STAGE_NAME.fullmatch(stage) or stage == "local":
        raise ConfigError(
            f"stage {stage!r}: lowercase letters and digits, at most 16, and not local "
            "(local is moto, see make run)"
        )
    defaults = StageConfig(stage=stage)
    per_stage = (context.get("tollgate") or {}).get(stage) or {}
    values: dict[str, Any] = {}
    for f in fields(StageConfig):
        if f.name == "stage":
            continue
        key = _camel(f.name)
        for source in (context, per_stage):
            if key in source and source[key] is not None:
                values[f.name] = _coerce(f.name, source[key], getattr(defaults, f.name))
                break
    config = StageConfig(stage=stage, **values)
    if config.signer not in SIGNERS:
        raise ConfigError(f"signer must be one of {', '.join(SIGNERS)}, got {config.signer!r}")
    if bool(config.domain_name) != bool(config.certificate_arn):
        raise ConfigError("domainName and certificateArn go together")
    if not 30 <= config.access_token_ttl <= 86400:
        raise ConfigError("accessTokenTtl must be between 30 and 86400 seconds")
    if config.throttle_rate <= 0 or config.throttle_burst <= 0:
        raise ConfigError("throttleRate and throttleBurst must be positive")
    if config.login_failure_alarm < 1:
        raise ConfigError("loginFailureAlarm must be at least 1")
    if config.log_retention_days not in RETENTION_DAYS:
        raise ConfigError(f"logRetentionDays must be one of {sorted(RETENTION_DAYS)}")
    if not 0 <= config.authorizer_cache_ttl <= MAX_AUTHORIZER_CACHE_TTL:
        raise ConfigError(
            f"authorizerCacheTtl must be between 0 and {MAX_AUTHORIZER_CACHE_TTL} seconds"
        )
    if config.registration not in REGISTRATION_MODES:
        raise ConfigError(f"registration must be one of {', '.join(REGISTRATION_MODES)}")
    try:
        policy = RoutePolicy.load(config.authorizer_route_policy, ROOT)
    except PolicyError as error:
        raise ConfigError(f"authorizerRoutePolicy: {error}") from None
    # The function gets the document itself (its package holds no file of yours), each
    # route whole: its acr and max_age too (SECURITY.md 62).
    config = replace(config, authorizer_route_policy=policy.as_json())
    if config.authorizer_audience and not config.authorizer_audience.startswith("https://"):
        raise ConfigError("authorizerAudience must be an https URI (your API's, as registered)")
    for name, url, domain in (
        ("apiUrl", config.api_url, config.domain_name),
        ("exampleApiUrl", config.example_api_url, ""),
    ):
        if url and not valid_api_url(url, stage, domain):
            where = f" or https://{domain}" if domain else ""
            raise ConfigError(
                f"{name} must be https://<api-id>.execute-api.<region>.amazonaws.com/{stage}"
                f"{where}, got {url!r}"
            )
    return config


# An API's own URL on API Gateway (AWS and AWS China), stage included.
EXECUTE_API_URL = re.compile(
    r"^https://[a-z0-9]+\.execute-api\.[a-z]{2}(-[a-z]+)+-[0-9]\.amazonaws\.com(\.cn)?"
    r"/(?P<stage>[a-z0-9]+)$"
)


def valid_api_url(url: str, stage: str, domain: str = "") -> bool:
    """An API's base URL as API Gateway serves it: its execute-api URL ending with the stage,
    or its custom domain's root. It goes into a header literal: nothing else may pass."""
    if domain and url == f"https://{domain}":
        return True
    match = EXECUTE_API_URL.fullmatch(url)
    return match is not None and match["stage"] == stage
