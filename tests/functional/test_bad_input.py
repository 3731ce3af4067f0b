"""Bad input: missing, duplicate or malformed parameters, wrong content type, oversized or
non-UTF-8 bodies, unknown clients, tampered interaction ids.

Each gets the right OAuth error or error page, never a 500, and changes no stored state.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import quote, urlencode

import pytest

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.endpoints import authorization_request
from tests.functional.flows import (
    FORM,
    SESSION_COOKIE,
    Authorized,
    Unchanged,
    authorize_params,
    authorize_path,
    error_page,
    interaction_id_of,
    oauth_error,
    submit_login,
    to_client,
    token,
)
from tests.support.oauth import (
    ISSUER,
    PASSWORD,
    REDIRECT,
    SECRET,
    Answer,
    Browser,
    action_of,
    basic,
    csrf_of,
)

OVERSIZED = 70 * 1024
NOT_UTF8 = b"grant_type=\xff\xfe"


def valid_token_form(done: Authorized) -> list[tuple[str, str]]:
    assert done.verifier is not None
    return [
        ("grant_type", "authorization_code"),
        ("code", done.code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", done.verifier),
    ]


def raw_token(
    browser: Browser, body: bytes, content_type: str | None, authorization: str | None = None
) -> Answer:
    headers: dict[str, str] = {}
    if content_type is not None:
        headers["Content-Type"] = content_type
    if authorization is not None:
        headers["Authorization"] = authorization
    return browser.request("POST", "/token", body=body, headers=headers, cookies=False)


# -- token endpoint -------------------------------------------------------------------------


@pytest.mark.parametrize("repeated", ["grant_type", "code", "redirect_uri", "code_verifier"])
def test_token_duplicate_parameter(
    signed_in: Authorized, unchanged: Unchanged, repeated: str
) -> None:
    unchanged.mark()
    form = valid_token_form(signed_in)
    form += [(k, v) for k, v in form if k == repeated]

    body = oauth_error(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")
    assert "repeat" in body["error_description"]
    unchanged.check()  # the code was not consumed


def test_token_duplicate_client_id(signed_in: Authorized, unchanged: Unchanged) -> None:
    unchanged.mark()
    form = [*valid_token_form(signed_in), ("client_id", "spa"), ("client_id", "spa")]

    oauth_error(token(signed_in.browser, form), "invalid_request")
    unchanged.check()


def test_token_oversized_body(signed_in: Authorized, unchanged: Unchanged) -> None:
    unchanged.mark()
    form = [*valid_token_form(signed_in), ("padding", "x" * OVERSIZED)]
    body = urlencode(form).encode()
    assert len(body) > OVERSIZED

    answer = raw_token(signed_in.browser, body, FORM["Content-Type"], basic("web", SECRET))
    oauth_error(answer, "invalid_request")
    unchanged.check()


def test_token_non_utf8_body(browser: Browser, unchanged: Unchanged) -> None:
    answer = raw_token(browser, NOT_UTF8, FORM["Content-Type"], basic("web", SECRET))

    body = oauth_error(answer, "invalid_request")
    assert "UTF-8" in body["error_description"]
    unchanged.check()


def test_token_too_many_parameters(browser: Browser, unchanged: Unchanged) -> None:
    body = "&".join(f"p{i}=v" for i in range(150)).encode()

    oauth_error(raw_token(browser, body, FORM["Content-Type"]), "invalid_request")
    unchanged.check()


def test_token_overlong_parameter_value(signed_in: Authorized, unchanged: Unchanged) -> None:
    unchanged.mark()
    form = [("grant_type", "authorization_code"), ("code", "c" * 5000)]

    oauth_error(token(signed_in.browser, form, basic("web", SECRET)), "invalid_request")
    unchanged.check()


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json",
        None,
        "text/plain",
        "multipart/form-data; boundary=x",
        "application/x-www-form-urlencodedx",
    ],
)
def test_token_wrong_content_type(
    signed_in: Authorized, unchanged: Unchanged, content_type: str | None
) -> None:
    unchanged.mark()
    payload = json.dumps(dict(valid_token_form(signed_in))).encode()
    if content_type is None or content_type.startswith("application/x-www"):
        payload = urlencode(valid_token_form(signed_in)).encode()

    answer = raw_token(signed_in.browser, payload, content_type, basic("web", SECRET))
    body = oauth_error(answer, "invalid_request")
    assert "Content-Type" in body["error_description"]
    unchanged.check()


@pytest.mark.parametrize(
    "header",
    [
        "Basic !!!not-base64!!!",
        "Basic " + base64.b64encode(b"web-without-colon").decode(),
        "Basic " + base64.b64encode(b"\xff\xfe:\xfd").decode(),
        "Basic ",
        "Basic",
        "basic " + base64.b64encode(b"web").decode(),
    ],
)
def test_token_malformed_basic_header(
    signed_in: Authorized, unchanged: Unchanged, header: str
) -> None:
    unchanged.mark()
    answer = token(signed_in.browser, valid_token_form(signed_in), header)

    oauth_error(answer, "invalid_client", 401)
    assert answer.headers["www-authenticate"].startswith("Basic ")
    unchanged.check()


@pytest.mark.parametrize("client_id", ["nobody", "web%20", "x" * 300, "CLIENT#web"])
def test_token_unknown_client(signed_in: Authorized, unchanged: Unchanged, client_id: str) -> None:
    unchanged.mark()
    form = [*valid_token_form(signed_in), ("client_id", client_id)]

    oauth_error(token(signed_in.browser, form), "invalid_client", 401)
    unchanged.check()


def test_token_missing_everything(browser: Browser, unchanged: Unchanged) -> None:
    oauth_error(raw_token(browser, b"", FORM["Content-Type"]), "invalid_client", 401)
    unchanged.check()


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_token_wrong_method(signed_in: Authorized, unchanged: Unchanged, method: str) -> None:
    unchanged.mark()
    query = urlencode(valid_token_form(signed_in))
    answer = signed_in.browser.request(
        method, f"/token?{query}", headers={"Authorization": basic("web", SECRET)}
    )

    assert 400 <= answer.status < 500, (answer.status, answer.text)
    assert b"access_token" not in answer.body
    unchanged.check()


# -- authorization endpoint: before the client is proven (error pages) ----------------------


@pytest.mark.parametrize(
    "query",
    [
        [("client_id", "web"), ("client_id", "web"), ("response_type", "code")],
        [("client_id", "web"), ("client_id", "spa"), ("response_type", "code")],
        [("client_id", "web"), ("redirect_uri", REDIRECT), ("redirect_uri", REDIRECT)],
        [("response_type", "code"), ("scope", "openid")],
        [("client_id", ""), ("response_type", "code")],
        [("client_id", "nobody"), ("response_type", "code"), ("scope", "openid")],
        [("client_id", "w" * 5000), ("response_type", "code")],
        [("client_id", "web"), ("redirect_uri", "https://evil.example/cb")],
        [("client_id", "web"), ("redirect_uri", REDIRECT + "/")],
        [("client_id", "web"), ("redirect_uri", REDIRECT + "?x=1")],
        [("client_id", "web"), ("redirect_uri", "https://app.example/cb#frag")],
        [("client_id", "spa"), ("response_type", "code")],  # two registered, none sent
    ],
)
def test_authorize_unproven_client_gets_an_error_page(
    signed_in: Authorized, unchanged: Unchanged, query: list[tuple[str, str]]
) -> None:
    unchanged.mark()
    answer = signed_in.browser.get("/authorize?" + urlencode(query))

    error_page(answer)
    unchanged.check()


def test_authorize_non_utf8_client_id_gets_an_error_page(
    signed_in: Authorized, unchanged: Unchanged
) -> None:
    unchanged.mark()
    error_page(signed_in.browser.get("/authorize?response_type=code&client_id=%ff%fe"))
    unchanged.check()


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"response_type=code&client_id=web&scope=openid&state=\xff\xfe", FORM["Content-Type"]),
        (b'{"response_type":"code","client_id":"web","scope":"openid"}', "application/json"),
        (b"response_type=code&client_id=web&scope=openid", None),
        (b"response_type=code&client_id=web&scope=openid", "text/plain"),
        (
            b"response_type=code&client_id=web&scope=openid&pad=" + b"x" * OVERSIZED,
            FORM["Content-Type"],
        ),
    ],
)
def test_post_authorize_unreadable_body_gets_an_error_page(
    signed_in: Authorized, unchanged: Unchanged, body: bytes, content_type: str | None
) -> None:
    unchanged.mark()
    headers = {} if content_type is None else {"Content-Type": content_type}
    answer = signed_in.browser.request("POST", "/authorize", body=body, headers=headers)

    error_page(answer)
    unchanged.check()


# -- authorization endpoint: after the client is proven (error redirects) -------------------


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ([("scope", "openid")], "invalid_request"),  # duplicate scope
        ([("response_type", "code")], "invalid_request"),  # duplicate response_type
        ([("nonce", "a"), ("nonce", "b")], "invalid_request"),
        ([("max_age", "-1")], "invalid_request"),
        ([("max_age", "abc")], "invalid_request"),
        ([("max_age", "1.5")], "invalid_request"),
        ([("max_age", "99999999999")], "invalid_request"),
        ([("max_age", "\u0661\u0662")], "invalid_request"),  # Arabic-Indic digits
        ([("max_age", "\u00b2")], "invalid_request"),  # superscript two: isdigit(), not int()
        ([("max_age", "\uff11")], "invalid_request"),  # fullwidth one
        ([("prompt", "bogus")], "invalid_request"),
        ([("prompt", "none login")], "invalid_request"),
        ([("prompt", "none consent")], "invalid_request"),
        ([("request", "eyJhbGciOiJub25lIn0.e30.")], "request_not_supported"),
        ([("request_uri", "https://app.example/req.jwt")], "request_uri_not_supported"),
        ([("response_mode", "fragment")], "invalid_request"),
        ([("response_mode", "form_post")], "invalid_request"),
        ([("code_challenge", "a" * 43), ("code_challenge_method", "plain")], "invalid_request"),
        ([("code_challenge", "a" * 43)], "invalid_request"),  # no method
        ([("code_challenge", "short"), ("code_challenge_method", "S256")], "invalid_request"),
        ([("code_challenge_method", "S256")], "invalid_request"),
        ([("login_hint", "x" * 5000)], "invalid_request"),
    ],
)
def test_authorize_bad_parameter_is_redirected_with_an_error(
    signed_in: Authorized,
    unchanged: Unchanged,
    extra: list[tuple[str, str]],
    error: str,
) -> None:
    # Signed in with consent: a good request would store a grant and a code right away.
    unchanged.mark()
    query = authorize_params(state="keep-me") + extra

    params = to_client(signed_in.browser.get("/authorize?" + urlencode(query)))
    assert params["error"] == error
    assert params["state"] == "keep-me"
    assert params["iss"] == ISSUER
    assert "code" not in params
    unchanged.check()


@pytest.mark.parametrize(
    ("scope", "error"),
    [
        ('openid "quoted"', "invalid_scope"),
        ("openid back\\slash", "invalid_scope"),
        ("openid caf\u00e9", "invalid_scope"),
        ("openid tab\there", "invalid_scope"),
        ("openid admin", "invalid_scope"),  # well-formed but not allowed for the client
        ("", "invalid_request"),
        ("   ", "invalid_request"),
    ],
)
def test_authorize_malformed_or_unknown_scope(
    signed_in: Authorized, unchanged: Unchanged, scope: str, error: str
) -> None:
    unchanged.mark()
    params = to_client(signed_in.browser.get(authorize_path(scope=scope)))

    assert params["error"] == error
    assert params["iss"] == ISSUER
    assert "code" not in params
    unchanged.check()


@pytest.mark.parametrize(
    ("response_type", "error"),
    [
        (None, "invalid_request"),
        ("token", "unsupported_response_type"),
        ("code id_token", "unsupported_response_type"),
        ("CODE", "unsupported_response_type"),
    ],
)
def test_authorize_bad_response_type(
    signed_in: Authorized, unchanged: Unchanged, response_type: str | None, error: str
) -> None:
    unchanged.mark()
    params = to_client(signed_in.browser.get(authorize_path(response_type=response_type)))

    assert params["error"] == error
    assert params["iss"] == ISSUER
    unchanged.check()


def test_authorize_duplicate_state_is_refused_without_echoing_it(
    signed_in: Authorized, unchanged: Unchanged
) -> None:
    unchanged.mark()
    query = [*authorize_params(state="one"), ("state", "two")]

    params = to_client(signed_in.browser.get("/authorize?" + urlencode(query)))
    assert params["error"] == "invalid_request"
    assert "state" not in params
    unchanged.check()


def test_authorize_overlong_state_is_refused_without_echoing_it(
    signed_in: Authorized, unchanged: Unchanged
) -> None:
    unchanged.mark()
    answer = signed_in.browser.get(authorize_path(state="s" * 2049))

    params = to_client(answer)
    assert params["error"] == "invalid_request"
    assert "state" not in params
    assert answer.location is not None
    assert len(answer.location) < 512
    unchanged.check()


def test_post_authorize_huge_state_is_refused_without_echoing_it(
    signed_in: Authorized, unchanged: Unchanged
) -> None:
    unchanged.mark()
    body = urlencode(authorize_params(state="s" * 60_000)).encode()
    assert len(body) < 64 * 1024
    answer = signed_in.browser.request("POST", "/authorize", body=body, headers=FORM)

    params = to_client(answer)
    assert params["error"] == "invalid_request"
    assert "state" not in params
    assert answer.location is not None
    assert len(answer.location) < 512
    unchanged.check()


def test_authorize_state_of_the_maximum_length_is_accepted(signed_in: Authorized) -> None:
    state = "s" * authorization_request.MAX_STATE
    params = to_client(signed_in.browser.get(authorize_path(state=state)))

    assert params["state"] == state
    assert "code" in params


# -- interaction pages ----------------------------------------------------------------------


TAMPERED_IDS = [
    "AAAAAAAAAAAAAAAAAAAAAA",
    "a" * 200,
    "..%2F..",
    "..%2F..%2F..%2Fetc%2Fpasswd",
    "%2E%2E",
    "%20",
    "%00",
    "%ff%fe",
    "INTERACTION%23x",
    "%3Cscript%3E",
]


@pytest.fixture
def pending(browser: Browser) -> tuple[Browser, Answer]:
    """A browser with a pending authorization, and its login page."""
    started = browser.get(authorize_path())
    page = browser.follow(started)
    assert page.status == 200
    return browser, page


@pytest.mark.parametrize("tampered", TAMPERED_IDS)
@pytest.mark.parametrize("step", ["login", "consent"])
def test_tampered_interaction_id(
    pending: tuple[Browser, Answer],
    unchanged: Unchanged,
    deps: Deps,
    tampered: str,
    step: str,
) -> None:
    browser, page = pending
    unchanged.mark()
    path = f"/interaction/{tampered}/{step}"

    assert "expired" in error_page(browser.get(path))
    form = {"csrf": csrf_of(page.text), "username": "alice", "password": PASSWORD}
    form["decision"] = "allow"
    answer = browser.post_form(path, form)
    error_page(answer)
    assert SESSION_COOKIE not in browser.cookies
    unchanged.check()


@pytest.mark.parametrize(
    "path", ["/interaction//login", "/interaction/ /consent", "/interaction/ /login"]
)
def test_empty_interaction_id(
    pending: tuple[Browser, Answer], unchanged: Unchanged, path: str
) -> None:
    browser, page = pending
    unchanged.mark()
    error_page(browser.get(quote(path)))
    error_page(browser.post_form(quote(path), {"csrf": csrf_of(page.text), "decision": "allow"}))
    unchanged.check()


def test_expired_interaction(
    pending: tuple[Browser, Answer], unchanged: Unchanged, clock: FakeClock
) -> None:
    browser, page = pending
    unchanged.mark()
    clock.advance(601)

    assert "expired" in error_page(browser.get(action_of(page.text)))
    answer = submit_login(browser, page)
    assert "expired" in error_page(answer)
    assert SESSION_COOKIE not in browser.cookies
    unchanged.check()


def test_interaction_from_another_browser(
    pending: tuple[Browser, Answer],
    unchanged: Unchanged,
    new_browser: Callable[[], Browser],
) -> None:
    _browser, page = pending
    unchanged.mark()
    other = new_browser()
    action = action_of(page.text)

    error_page(other.get(action), 403)
    error_page(submit_login(other, page), 403)
    consent = action.replace("/login", "/consent")
    error_page(other.get(consent), 403)
    error_page(other.post_form(consent, {"csrf": csrf_of(page.text), "decision": "allow"}), 403)
    assert SESSION_COOKIE not in other.cookies
    unchanged.check()


def test_interaction_from_another_browser_with_its_own_binding(
    pending: tuple[Browser, Answer],
    unchanged: Unchanged,
    new_browser: Callable[[], Browser],
) -> None:
    _browser, page = pending
    other = new_browser()
    assert other.get(authorize_path()).status == 303  # other now has its own browser cookie
    unchanged.mark()

    error_page(submit_login(other, page), 403)
    assert SESSION_COOKIE not in other.cookies
    unchanged.check()


def test_resubmitting_a_completed_interaction(browser: Browser, unchanged: Unchanged) -> None:
    started = browser.get(authorize_path())
    login_page = browser.follow(started)
    after_login = submit_login(browser, login_page)
    consent_page = browser.follow(after_login)
    assert "code" in to_client(
        browser.post_form(
            action_of(consent_page.text),
            {"csrf": csrf_of(consent_page.text), "decision": "allow"},
        )
    )
    unchanged.mark()

    again = browser.post_form(
        action_of(consent_page.text), {"csrf": csrf_of(consent_page.text), "decision": "allow"}
    )
    assert "expired" in error_page(again)
    denied = browser.post_form(
        action_of(consent_page.text), {"csrf": csrf_of(consent_page.text), "decision": "deny"}
    )
    error_page(denied)
    error_page(submit_login(browser, login_page))
    error_page(browser.get(action_of(login_page.text)))
    unchanged.check()


def test_consent_denied_interaction_cannot_be_allowed_afterwards(
    browser: Browser, unchanged: Unchanged
) -> None:
    started = browser.get(authorize_path())
    consent_page = browser.follow(submit_login(browser, browser.follow(started)))
    form = {"csrf": csrf_of(consent_page.text), "decision": "deny"}
    assert to_client(browser.post_form(action_of(consent_page.text), form))["error"] == (
        "access_denied"
    )
    unchanged.mark()

    form["decision"] = "allow"
    error_page(browser.post_form(action_of(consent_page.text), form))
    unchanged.check()


LOGIN_BODIES: list[tuple[str, Callable[[str], tuple[bytes, str | None]]]] = [
    ("non-utf8", lambda csrf: (f"csrf={csrf}&username=alice&password=".encode() + b"\xff", None)),
    (
        "oversized",
        lambda csrf: (
            urlencode({"csrf": csrf, "username": "alice", "password": "x" * OVERSIZED}).encode(),
            None,
        ),
    ),
    (
        "json",
        lambda csrf: (
            json.dumps({"csrf": csrf, "username": "alice", "password": PASSWORD}).encode(),
            "application/json",
        ),
    ),
    (
        "no-content-type",
        lambda csrf: (urlencode({"csrf": csrf, "username": "alice"}).encode(), ""),
    ),
    (
        "duplicate-username",
        lambda csrf: (
            urlencode(
                [("csrf", csrf), ("username", "alice"), ("username", "bob"), ("password", "p")]
            ).encode(),
            None,
        ),
    ),
    (
        "duplicate-csrf",
        lambda csrf: (
            urlencode(
                [("csrf", csrf), ("csrf", csrf), ("username", "alice"), ("password", PASSWORD)]
            ).encode(),
            None,
        ),
    ),
    (
        "overlong-password",
        lambda csrf: (
            urlencode({"csrf": csrf, "username": "alice", "password": "p" * 5000}).encode(),
            None,
        ),
    ),
    (
        "overlong-username",
        lambda csrf: (
            urlencode({"csrf": csrf, "username": "a" * 5000, "password": PASSWORD}).encode(),
            None,
        ),
    ),
]


@pytest.mark.parametrize(
    "make_body", [m for _, m in LOGIN_BODIES], ids=[name for name, _ in LOGIN_BODIES]
)
def test_login_post_unreadable_body(
    pending: tuple[Browser, Answer],
    unchanged: Unchanged,
    make_body: Callable[[str], tuple[bytes, str | None]],
) -> None:
    browser, page = pending
    unchanged.mark()
    body, content_type = make_body(csrf_of(page.text))
    headers = {"Content-Type": FORM["Content-Type"] if content_type is None else content_type}
    if content_type == "":
        headers = {}

    answer = browser.request("POST", action_of(page.text), body=body, headers=headers)
    error_page(answer, 400)
    assert SESSION_COOKIE not in browser.cookies
    unchanged.check()


@pytest.mark.parametrize(
    ("csrf", "status"), [(None, 403), ("", 403), ("forged", 403), ("x" * 5000, 400)]
)
def test_login_post_without_the_right_csrf(
    pending: tuple[Browser, Answer], unchanged: Unchanged, csrf: str | None, status: int
) -> None:
    browser, page = pending
    unchanged.mark()
    form = {"username": "alice", "password": PASSWORD}
    if csrf is not None:
        form["csrf"] = csrf

    error_page(browser.post_form(action_of(page.text), form), status)
    assert SESSION_COOKIE not in browser.cookies
    unchanged.check()


def test_failed_login_changes_nothing(
    pending: tuple[Browser, Answer], unchanged: Unchanged
) -> None:
    browser, page = pending
    unchanged.mark()

    for username, password in [("alice", "wrong"), ("nobody", PASSWORD), ("", ""), (" ", "x")]:
        answer = submit_login(browser, page, username, password)
        assert answer.status == 400
        assert "Wrong username or password." in answer.text
    assert SESSION_COOKIE not in browser.cookies
    unchanged.check()


@pytest.fixture
def at_consent(browser: Browser) -> tuple[Browser, Answer]:
    started = browser.get(authorize_path())
    consent_page = browser.follow(submit_login(browser, browser.follow(started)))
    assert consent_page.status == 200
    assert interaction_id_of(started) in action_of(consent_page.text)
    return browser, consent_page


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"decision": "maybe"}, 400),
        ({"decision": ""}, 400),
        ({}, 400),
        ([("decision", "allow"), ("decision", "deny")], 400),
        ({"decision": "allow", "csrf": "forged"}, 403),
        ({"decision": "allow" + "x" * 5000}, 400),
    ],
)
def test_consent_post_bad_form(
    at_consent: tuple[Browser, Answer],
    unchanged: Unchanged,
    form: dict[str, str] | list[tuple[str, str]],
    status: int,
) -> None:
    browser, page = at_consent
    unchanged.mark()
    fields = dict(form) if isinstance(form, dict) else list(form)
    if isinstance(fields, dict):
        fields.setdefault("csrf", csrf_of(page.text))
    else:
        fields.append(("csrf", csrf_of(page.text)))

    error_page(browser.post_form(action_of(page.text), fields), status)
    unchanged.check()


def test_consent_without_the_session_that_signed_in(
    at_consent: tuple[Browser, Answer], unchanged: Unchanged
) -> None:
    browser, page = at_consent
    unchanged.mark()
    del browser.cookies[SESSION_COOKIE]

    error_page(browser.get(action_of(page.text)), 403)
    answer = browser.post_form(
        action_of(page.text), {"csrf": csrf_of(page.text), "decision": "allow"}
    )
    error_page(answer, 403)
    unchanged.check()


def test_consent_get_before_login_goes_to_login(
    pending: tuple[Browser, Answer], unchanged: Unchanged
) -> None:
    browser, page = pending
    unchanged.mark()
    consent = action_of(page.text).replace("/login", "/consent")

    answer = browser.get(consent)
    assert answer.status == 303
    assert answer.location == action_of(page.text)
    error_page(browser.post_form(consent, {"csrf": csrf_of(page.text), "decision": "allow"}), 403)
    unchanged.check()


def test_the_snapshot_sees_a_write(pending: tuple[Browser, Answer], unchanged: Unchanged) -> None:
    """The guard itself: a successful sign-in does change the table, and check() says so."""
    browser, page = pending
    unchanged.mark()
    assert submit_login(browser, page).status == 303

    with pytest.raises(AssertionError, match="changed stored state"):
        unchanged.check()
