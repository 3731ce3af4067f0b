"""A request's DPoP proof at Tollgate's own endpoints (the token endpoint and UserInfo):
verified against the endpoint's URL under the issuer, the server nonce when nonces are on
(TOLLGATE_DPOP_NONCE), and recorded once (store.dpop). chalicelib/tokens/dpop.py holds the
rules; here they meet the request, the settings and the store.

The URL a proof must name is the endpoint's URL under the issuer (`htu`, RFC 9449 4.3):
for an issuer with a path (API Gateway's stage, https://<api>.execute-api.<region>.
amazonaws.com/dev) that is https://<api>.../dev/token, exactly what the client was told
in the metadata, whatever path the Lambda itself sees.
"""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.errors import InvalidDpopProof, UseDpopNonce
from chalicelib.http.message import HttpRequest
from chalicelib.observability import audit
from chalicelib.tokens import dpop
from chalicelib.tokens.dpop_nonce import Nonces


def nonces(deps: Deps) -> Nonces | None:
    """The server's nonces, when they are on."""
    return Nonces(deps.store.limits.device_key()) if deps.settings.dpop_nonce else None


def fresh_nonce(deps: Deps) -> dict[str, str]:
    """The DPoP-Nonce header to send with an answer, when nonces are on."""
    issued = nonces(deps)
    return {"DPoP-Nonce": issued.current(deps.clock.now())} if issued else {}


def proof(
    deps: Deps,
    request: HttpRequest,
    path: str,
    client_id: str | None = None,
) -> dpop.Proof | None:
    """The request's verified, single-use proof for the endpoint at `path`; None when the
    request has no DPoP header. InvalidDpopProof (audited) or UseDpopNonce otherwise."""
    header = request.header("dpop")
    if header is None:
        return None
    now = deps.clock.now()
    issued = nonces(deps)
    try:
        verified = dpop.verify(
            header,
            method=request.method,
            url=deps.settings.endpoint(path),
            now=now,
            nonce_ok=(lambda nonce: issued.accepts(nonce, now)) if issued else None,
        )
        dpop.use_once(deps.store.dpop, verified)
    except dpop.InvalidProof as error:
        if isinstance(error, dpop.NonceNeeded) and issued is not None:
            raise UseDpopNonce(issued.current(now), str(error)) from None
        audit.dpop_refused(client_id, path, str(error))
        raise InvalidDpopProof("invalid DPoP proof", str(error)) from None
    return verified
