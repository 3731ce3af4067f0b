"""The resource server's half of DPoP (RFC 9449 7): UserInfo and both authorizers.

A request presents its access token as `Authorization: Bearer <token>` or
`Authorization: DPoP <token>` with a `DPoP` proof header. After the token itself was
verified (chalicelib/authorizer/validate.py):

- a token bound to a key (`cnf.jkt`) is accepted only with the DPoP scheme: as Bearer it is
  refused with the DPoP challenge (RFC 9449 7.2; SECURITY.md 44);
- the DPoP scheme needs a bound token and a proof (chalicelib/tokens/dpop.py) for this
  request's method and URL, with `ath` of this token, signed by the bound key;
- the proof's jti is recorded once (the replay guard, one conditional put: SECURITY.md 45),
  last, so that nothing invalid writes.

An unbound token presented as Bearer passes untouched: DPoP is the client's choice unless
its registration requires it (at the token endpoint).
"""

from __future__ import annotations

from collections.abc import Callable

from chalicelib.authorizer.errors import (
    AuthorizerUnavailable,
    InvalidDpopProof,
    InvalidToken,
    UseDpopNonce,
)
from chalicelib.authorizer.validate import TOKEN68, Claims, bearer_of, credentials
from chalicelib.ids import same
from chalicelib.stores.failures import StoreUnavailable
from chalicelib.tokens import dpop

BEARER = "Bearer"
DPOP = "DPoP"


def presented(authorization: str | None) -> tuple[str, str]:
    """(scheme, token) of an Authorization header: Bearer (RFC 6750) or DPoP (RFC 9449 7.1)."""
    value = (authorization or "").strip()
    scheme, token = credentials(value)
    if scheme.lower() != "dpop":
        return BEARER, bearer_of(value, scheme, token)
    if not TOKEN68.fullmatch(token):
        raise InvalidToken("malformed DPoP credentials").as_dpop()
    return DPOP, token


def check(
    claims: Claims,
    scheme: str,
    token: str,
    proof: str | None,
    *,
    method: str,
    url: str,
    now: int,
    guard: dpop.ReplayGuard | None,
    nonce: Callable[[str | None], bool] | None = None,
    current_nonce: Callable[[], str] | None = None,
) -> dpop.Proof | None:
    """The verified proof of a DPoP request (None for Bearer); an AuthorizerError otherwise.
    `guard` None skips the replay check (only where no table is reachable: the caller
    states it). `nonce` judges the proof's nonce and `current_nonce` names the next one."""
    if scheme == BEARER:
        if claims.jkt is not None:
            raise InvalidToken("a DPoP-bound token presented as Bearer").as_dpop()
        return None
    if claims.jkt is None:
        raise InvalidToken("the DPoP scheme with a token bound to no key").as_dpop()
    if proof is None:
        raise InvalidDpopProof("no DPoP proof")
    try:
        verified = dpop.verify(
            proof, method=method, url=url, now=now, access_token=token, nonce_ok=nonce
        )
    except dpop.NonceNeeded as needed:
        raise UseDpopNonce(current_nonce() if current_nonce else "", str(needed)) from None
    except dpop.InvalidProof as error:
        raise InvalidDpopProof(str(error)) from None
    if not same(verified.jkt, claims.jkt):
        raise InvalidDpopProof("the proof is signed by another key than the token's")
    if guard is not None:
        try:
            dpop.use_once(guard, verified)
        except dpop.InvalidProof as replay:
            raise InvalidDpopProof(str(replay)) from None
        except StoreUnavailable as error:
            raise AuthorizerUnavailable(f"replay guard: {error}") from None
    return verified
