"""Properties of the demo API's note bodies (issue 10 item 15): JSON that nests, holds lone
surrogates, odd numbers or duplicate members, and bytes that are not JSON at all. Never a
5xx (a lone surrogate was a 503: an outage reported for a bad input), never a framework's
body, and a refused note writes nothing."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chalicelib.tokens import access_token
from tests.properties.conftest import Running
from tests.properties.strategies import CONTENT_TYPES, JSON_FRAGMENTS, UNICODE, json_text, judge


@pytest.fixture(scope="module")
def bearer(running: Running) -> str:
    """A token for notes:read and notes:write (its signing key is made and stored now)."""
    s = running.deps.settings
    issued, _ = access_token.mint(
        running.deps.signer,
        issuer=s.issuer,
        audience=s.audience,
        sub="sub-alice",
        client_id="web",
        scopes=["notes:read", "notes:write"],
        now=running.deps.clock.now(),
        ttl=3600,
    )
    running.deps.signer.jwks()  # the signer makes its other key on first use: not a request's doing
    running.unchanged.mark()
    return issued


def _bodies() -> st.SearchStrategy[bytes]:
    as_text = st.one_of(
        json_text(),
        JSON_FRAGMENTS.map(lambda v: '{"text": "x", "n": ' + v + "}"),
        JSON_FRAGMENTS.map(lambda v: '{"text": ' + v + "}"),
        st.text(UNICODE, max_size=30).map(lambda t: '{"text": "' + t + '"}'),
        st.just('{"text": "x", "text": "y"}'),
    )
    return as_text.map(lambda t: t.encode("utf-8", "surrogatepass")) | st.binary(max_size=100)


@given(body=_bodies(), content_type=CONTENT_TYPES | st.just("application/json"))
def test_note_bodies(running: Running, bearer: str, body: bytes, content_type: str) -> None:
    headers = {"Authorization": f"Bearer {bearer}"}
    if content_type:
        headers["Content-Type"] = content_type
    answer = running.browser.request(
        "POST", "/api/notes", body=body, headers=headers, cookies=False
    )
    judge(answer, running.unchanged)
    listed = running.browser.request("GET", "/api/notes", headers=headers, cookies=False)
    judge(listed, running.unchanged)
