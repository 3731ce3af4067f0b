"""Authorization code grant at the token endpoint (RFC 6749 4.1.3, RFC 7636 4.6, RFC 9700 4.2.4).

The code is claimed with one conditional write before anything else is checked: a code is
burnt by any redemption attempt. A second presentation is reuse, so the grant it created is
revoked. The claim carries this request's own id, so a DynamoDB retry of our own committed
write is not mistaken for reuse.
"""

from __future__ import annotations

from typing import Any

from chalicelib.deps import Deps
from chalicelib.errors import InvalidGrant
from chalicelib.ids import digest, new_id, same
from chalicelib.protocol import pkce
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Client
from chalicelib.stores.repository import AlreadyUsed
from chalicelib.tokens import access_token, id_token

MAX_CODE = 128


def exchange(deps: Deps, client: Client, params: Params) -> dict[str, Any]:
    code = params.require("code")
    if len(code) > MAX_CODE:
        raise InvalidGrant("invalid authorization code", "oversized code")
    try:
        record = deps.store.consume_code(digest(code), consumer=new_id())
    except AlreadyUsed as reused:
        deps.store.revoke_grant(reused.record.grant_id, deps.clock.now(), "code reuse")
        raise InvalidGrant(
            "invalid authorization code", f"code reuse; grant {reused.record.grant_id} revoked"
        ) from None
    if record is None:
        raise InvalidGrant("invalid authorization code", "unknown or expired code")
    if not same(record.client_id, client.client_id):
        raise InvalidGrant("invalid authorization code", "code issued to another client")
    redirect = params.get("redirect_uri")
    if record.redirect_uri and redirect != record.redirect_uri:
        raise InvalidGrant("redirect_uri does not match", "redirect_uri mismatch")
    pkce.verify(record.code_challenge, params.get("code_verifier"))

    settings = deps.settings
    now = deps.clock.now()
    token, _claims = access_token.mint(
        deps.signer,
        issuer=settings.issuer,
        audience=settings.audience,
        sub=record.sub,
        client_id=client.client_id,
        scopes=record.scopes,
        now=now,
        ttl=settings.access_token_ttl,
        grant_id=record.grant_id,
        auth_time=record.auth_time,
    )
    response: dict[str, Any] = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": settings.access_token_ttl,
        "scope": " ".join(record.scopes),
    }
    if "openid" in record.scopes:
        response["id_token"] = id_token.mint(
            deps.signer,
            issuer=settings.issuer,
            client_id=client.client_id,
            sub=record.sub,
            now=now,
            ttl=settings.access_token_ttl,
            auth_time=record.auth_time,
            nonce=record.nonce,
            amr=record.amr,
            sid=record.sid,
            access_token=token,
        )
    return response
