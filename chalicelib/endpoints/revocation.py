"""Token revocation (RFC 7009): POST /revoke with `token` and optionally `token_type_hint`.

The client authenticates as at the token endpoint (chalicelib/endpoints/client_request.py).
Then, for a token issued to that client:

- a refresh token: its grant is revoked (RFC 7009 2.1 "SHOULD also invalidate all access
  tokens based on the same authorization grant"). Every refresh token of the grant stops at
  once; so do its access tokens wherever grants are checked: UserInfo, introspection, and
  the authorizers when TOLLGATE_REVOCATION_CHECK is on.
- an access token: its `jti` is recorded as revoked (`JTI#<jti>` / `REVOKED`) until no
  validator could accept the token anyway, `exp` plus the largest leeway. UserInfo,
  introspection and the revocation check refuse it at once; without the check an authorizer
  accepts it until it expires (README "Revocation"). Its grant and refresh token live on
  (RFC 7009 2.1 leaves that to the server: "MAY").

The answer is 200 with an empty body whenever the token is not (or no longer) one to
revoke: unknown, malformed, expired, not Tollgate's (RFC 7009 2.2: "invalid tokens do not
cause an error response"). A token issued to another client also gets 200 and nothing is
done. RFC 7009 2.1 has such a request "refused", but any error would tell the caller that
the token it holds is a live token of another client: an oracle for stolen tokens. So the
answer is the one an unknown token gets. The `token_type_hint` only orders the search
(chalicelib/tokens/lookup.py); an unknown value is ignored, and `unsupported_token_type`
is never sent, since both token types can be revoked.

Revocation is never reported done when it was not: if the store fails to record it, the
answer is 503 temporarily_unavailable with Retry-After, and the client may retry; revoking
twice is harmless (SECURITY.md 26).
"""

from __future__ import annotations

import logging

from chalicelib.deps import Deps
from chalicelib.endpoints import client_request
from chalicelib.http import cors
from chalicelib.http.message import HttpRequest, HttpResponse
from chalicelib.ids import same
from chalicelib.observability import audit
from chalicelib.stores.models import RefreshToken
from chalicelib.tokens import lookup

PATH = "/revoke"
log = logging.getLogger("tollgate.revocation")

REASON = "revoked by the client (RFC 7009)"


def handle(deps: Deps, request: HttpRequest) -> HttpResponse:
    origin = cors.ClientOrigin(request)
    return origin.apply(client_request.answer(log, lambda: _revoke(deps, request, origin)))


def _revoke(deps: Deps, request: HttpRequest, origin: cors.ClientOrigin) -> HttpResponse:
    params = client_request.form(request)
    client = client_request.authenticate(deps, request, params, PATH)
    origin.check(client.client_id, client.redirect_uris)  # chalicelib/http/cors.py
    token = params.require("token")
    hint = params.get("token_type_hint")
    # An expired access token still within any validator's leeway is still worth revoking.
    found = lookup.find(deps, token, hint, leeway=lookup.MAX_LEEWAY)
    done = HttpResponse(200, {})
    if found is None:
        log.info("revocation by %s: unknown, invalid or expired token", client.client_id)
        audit.token_revoked(client.client_id, None, refused="unknown, invalid or expired token")
        return done
    if not same(found.client_id, client.client_id):
        log.warning(
            "revocation by %s of a token issued to %s: ignored", client.client_id, found.client_id
        )
        audit.token_revoked(client.client_id, None, refused="a token of another client")
        return done
    if isinstance(found, RefreshToken):
        deps.store.grants.revoke(found.grant_id, deps.clock.now(), REASON)
        log.info("client %s revoked grant %s", client.client_id, found.grant_id)
        audit.token_revoked(
            client.client_id, "refresh_token", sub=found.sub, grant_id=found.grant_id
        )
    else:
        deps.store.grants.revoke_jti(found.jti, found.expires_at + lookup.MAX_LEEWAY)
        log.info("client %s revoked access token %s", client.client_id, found.jti)
        audit.token_revoked(
            client.client_id, "access_token", sub=found.sub, grant_id=found.grant_id
        )
    return done
