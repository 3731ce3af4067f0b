"""A throttled or failing KMS is answered like a throttled store: 503, never a token or a 500."""

from __future__ import annotations

import json
from typing import Any

from chalicelib.tokens.signer import Signer, SignerUnavailable
from tests.functional.flows import redeem, sign_in
from tests.support.oauth import Browser, tollgate


class ThrottledKms:
    """The signer of a stage whose KMS answers ThrottlingException to every Sign."""

    def __init__(self, published: Signer) -> None:
        self._published = published

    def sign(self, claims: dict[str, Any], *, alg: str, typ: str) -> str:
        raise SignerUnavailable("KMS Sign: ThrottlingException")

    def jwks(self) -> dict[str, Any]:
        return self._published.jwks()


def test_a_token_request_during_a_kms_outage_gets_503_temporarily_unavailable() -> None:
    with tollgate() as (deps, _clock, http):
        done = sign_in(Browser(http))
        working = deps.signer
        deps.signer = ThrottledKms(working)
        answer = redeem(done)
        # Nothing was consumed: once KMS answers again, the same code still works.
        deps.signer = working
        retried = redeem(done)
        assert retried.status == 200, retried.text
    assert answer.status == 503
    assert json.loads(answer.body)["error"] == "temporarily_unavailable"
    assert answer.headers.get("retry-after")
    assert answer.headers.get("cache-control") == "no-store"
    assert "access_token" not in answer.text
