"""Properties of the browser-facing endpoints: /authorize and /logout (query and form, ID
token hints), and the interaction pages (form bodies, interaction ids). Whatever arrives:
never a 5xx, never a traceback or a framework's own body, only ASCII headers, and a refused
request changes no stored state."""

from __future__ import annotations

from urllib.parse import urlencode

from hypothesis import given
from hypothesis import strategies as st

from tests.functional.flows import authorize_path, interaction_id_of
from tests.properties.conftest import Running
from tests.properties.strategies import (
    CONTENT_TYPES,
    LONG_IDS,
    UNICODE,
    encoded,
    form_body,
    judge,
    jws,
    query,
)
from tests.support.oauth import REDIRECT, Browser, csrf_of

AUTHORIZE_NAMES = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "resource",
    "response_mode",
    "request",
]
LOGOUT_NAMES = ["id_token_hint", "post_logout_redirect_uri", "state", "client_id", "csrf"]
VALID = "response_type=code&client_id=web&" + urlencode({"redirect_uri": REDIRECT})


@given(
    path=st.sampled_from(["/authorize", "/logout"]),
    prefix=st.sampled_from(["", VALID + "&", VALID + "&scope=openid&"]),
    params=query(AUTHORIZE_NAMES + LOGOUT_NAMES),
    post=st.booleans(),
)
def test_authorize_and_logout(
    running: Running, path: str, prefix: str, params: str, post: bool
) -> None:
    browser = running.browser
    if post:
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        answer = browser.request("POST", path, body=prefix + params, headers=headers)
    else:
        answer = browser.get(f"{path}?{prefix}{params}")
    judge(answer, running.unchanged)


@given(hint=jws(), path=st.sampled_from(["/logout?", "/authorize?" + VALID + "&scope=openid&"]))
def test_id_token_hints(running: Running, hint: str, path: str) -> None:
    answer = running.browser.get(f"{path}id_token_hint={encoded(hint)}")
    judge(answer, running.unchanged)


def _pending(running: Running) -> tuple[Browser, str, str]:
    """A browser with a pending authorization: its interaction id and login page's CSRF."""
    browser = Browser(running.http)
    interaction = interaction_id_of(browser.get(authorize_path(scope="openid")))
    page = browser.get(f"/interaction/{interaction}/login")
    running.unchanged.mark()
    return browser, interaction, csrf_of(page.text)


@given(
    data=st.data(),
    step=st.sampled_from(["login", "consent", "mfa"]),
    content_type=CONTENT_TYPES,
    method=st.sampled_from(["GET", "POST"]),
)
def test_interaction_pages(
    running: Running, data: st.DataObject, step: str, content_type: str, method: str
) -> None:
    browser, interaction, csrf = _pending(running)
    interaction = data.draw(
        st.just(interaction)
        | LONG_IDS
        | st.text(UNICODE, min_size=1, max_size=30).map(encoded)
        | st.just(interaction + "x")
    )
    body = data.draw(
        form_body(["csrf", "username", "password", "decision"])
        | st.builds(
            lambda rest: f"csrf={csrf}&{rest}".encode(),
            query(["username", "password", "decision", "csrf"]),
        )
    )
    headers = {"Content-Type": content_type} if content_type else {}
    path = f"/interaction/{interaction}/{step}"
    answer = browser.request(method, path, body=body if method == "POST" else b"", headers=headers)
    judge(answer, running.unchanged)
