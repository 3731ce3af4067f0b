"""Authorization code grant at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.6, RFC 9700 4.2.4).

The code is read, checked against the client, redirect URI and PKCE verifier, then consumed
together with storing its refresh token in one transaction. A code presented again after it
was consumed is reuse: the grant it created is revoked with everything issued under it.
The consuming write carries this request's own id, so a DynamoDB retry of our own committed
write is not mistaken for reuse.
"""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidGrant
from chalicelib.grants import tokens
from chalicelib.ids import digest, new_id, same
from chalicelib.protocol import pkce
from chalicelib.protocol.params import Params
from chalicelib.stores.models import AuthorizationCode, Client
from chalicelib.stores.records import AlreadyUsed, Gone

MAX_CODE = 128


def _reused(deps: Deps, code: AuthorizationCode) -> InvalidGrant:
    deps.store.grants.revoke(code.grant_id, deps.clock.now(), "code reuse")
    return InvalidGrant("invalid authorization code", f"code reuse; grant {code.grant_id} revoked")


def exchange(deps: Deps, client: Client, params: Params) -> dict[str, Any]:
    code = params.require("code")
    if len(code) > MAX_CODE:
        raise InvalidGrant("invalid authorization code", "oversized code")
    record = deps.store.codes.get(digest(code))
    if record is None:
        raise InvalidGrant("invalid authorization code", "unknown or expired code")
    if record.consumed_by is not None:
        raise _reused(deps, record)
    if not same(record.client_id, client.client_id):
        raise InvalidGrant("invalid authorization code", "code issued to another client")
    redirect = params.get("redirect_uri")
    if record.redirect_uri and redirect != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match", "redirect_uri mismatch")
    pkce.verify(record.code_challenge, params.get("code_verifier"))

    auth = tokens.Authorization.of(record, nonce=record.nonce)
    refresh_token, refresh = (
        tokens.new_refresh(deps, client, auth)
        if tokens.wants_refresh(client, record.scopes)
        else (None, None)
    )
    # Sign first: a signer outage (KMS throttled) must leave the code unused for a retry.
    resources = tokens.target(params, record.resources, deps.settings.audience)
    body = tokens.response(deps, client, auth, resources=resources, refresh_token=refresh_token)
    try:
        deps.store.codes.redeem(record, consumer=new_id(), refresh=refresh)
    except AlreadyUsed as used:
        raise _reused(deps, used.record) from None
    except Gone:
        raise InvalidGrant("invalid authorization code", "code expired while redeeming") from None
    return body
