"""The authorizer (RFC 9068 section 4, RFC 8725, RFC 6750): Tollgate's access tokens guarding
API Gateway routes by scope. Nothing here imports boto3 or Chalice.

    validate.py        the core: verify(token, keys, ...) -> Claims, or InvalidToken
    keys.py            KeySource: JwksFetcher (the issuer's jwks_uri), LocalKeys (a Signer)
    policy.py          route patterns -> scopes; the IAM policy returned to API Gateway
    gate.py            Authorization header + method ARN -> the authorizer's answer
    errors.py          InvalidToken / MissingToken / InsufficientScope / AuthorizerUnavailable
    config.py          the standalone authorizer's environment variables
    lambda_handler.py  the standalone REQUEST/TOKEN Lambda authorizer other APIs attach by ARN
    in_process.py      the signer's keys for verifiers inside Tollgate's app

The built-in authorizer of Tollgate's own routes is chalicelib/web/protected.py.
"""
