"""The sign-in pages: structure, accessibility, no third-party assets, escaping."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from chalicelib.http import pages
from tests.unit.pages_doc import (
    EVIL,
    EVIL_ESCAPED,
    ISSUER,
    RESTART,
    SETTINGS,
    consent,
    error,
    login,
    parse,
)

ALL_PAGES: dict[str, Callable[[], str]] = {
    "login": login,
    "login-with-error": lambda: login(error="Wrong username or password.", username="alice"),
    "consent": consent,
    "error": error,
    "demo callback": lambda: pages.demo_callback_page(settings=SETTINGS, params={"code": "c"}),
    "error with a way on": lambda: error(link=("Start again", f"{ISSUER}/authorize?a=1&b=2")),
    "logout": lambda: pages.logout_page(
        settings=SETTINGS, action=SETTINGS.endpoint("/logout"), csrf="x", fields={}
    ),
    "signed out": lambda: pages.signed_out_page(settings=SETTINGS),
    "still signed in": lambda: pages.still_signed_in_page(settings=SETTINGS),
}


@pytest.fixture(params=sorted(ALL_PAGES))
def document(request: pytest.FixtureRequest) -> str:
    render: Callable[[], str] = ALL_PAGES[request.param]
    return render()


# --- every page -------------------------------------------------------------------------


def test_is_a_complete_html5_document(document: str) -> None:
    assert document.startswith("<!doctype html>")
    doc = parse(document)
    assert [d.lower() for d in doc.decls] == ["doctype html"]
    html = doc.one("html")
    assert html.attrs.get("lang") == "en"
    doc.one("head")
    doc.one("body")
    doc.one("meta", charset="utf-8")
    viewport = doc.one("meta", name="viewport")
    assert "width=device-width" in (viewport.attrs.get("content") or "")
    doc.one("meta", name="referrer", content="no-referrer")
    assert doc.one("title").text.strip()


def test_has_one_main_and_one_h1_inside_it(document: str) -> None:
    doc = parse(document)
    doc.one("main")
    h1 = doc.one("h1")
    assert "main" in h1.parents
    assert h1.text.strip()


def test_shows_product_name_in_card_header(document: str) -> None:
    doc = parse(document)
    header = doc.one("header")
    assert "main" in header.parents
    assert "Tollgate" in header.text


def test_links_only_the_first_party_stylesheet(document: str) -> None:
    doc = parse(document)
    links = doc.find("link")
    # The empty data: icon stops the browser asking for /favicon.ico (a 403 through API Gateway).
    assert [(link.attrs.get("rel"), link.attrs.get("href")) for link in links] == [
        ("icon", "data:,"),
        ("stylesheet", f"{ISSUER}/static/tollgate.css"),
    ]


def test_every_url_is_under_the_issuer(document: str) -> None:
    """Issue 9: a root-relative URL leaves an issuer's path (API Gateway's stage) for a 403."""
    doc = parse(document)
    urls = [
        (element.tag, name, value or "")
        for element in doc.elements
        for name, value in element.attrs.items()
        if name in {"href", "src", "action", "formaction", "srcset", "poster", "data"}
    ]
    assert urls, "every page links at least its stylesheet"
    for tag, name, value in urls:
        assert value == "data:," or value.startswith(ISSUER + "/"), (tag, name, value)


def test_an_error_page_without_settings_is_still_a_page() -> None:
    """Settings that fail to load leave the error page unstyled, never unanswered."""
    doc = parse(pages.error_page(settings=None, title="Oops", message="Try later."))
    assert [link.attrs.get("rel") for link in doc.find("link")] == ["icon"]
    assert doc.one("h1").text == "Oops"


def test_has_no_script_no_inline_style_no_third_party_urls(document: str) -> None:
    doc = parse(document)
    tags = {e.tag for e in doc.elements}
    assert not tags & {"script", "style", "iframe", "object", "embed", "img", "svg"}
    for element in doc.elements:
        assert "style" not in element.attrs, element
        assert not any(name.startswith("on") for name in element.attrs), element
        for value in element.attrs.values():
            assert not (value or "").lower().startswith("javascript:"), element
    # The only absolute URLs are the issuer's own.
    rest = document.replace(ISSUER + "/", "")
    assert not re.search(r"https?:", rest, re.IGNORECASE)
    assert "//" not in rest


def test_every_visible_input_has_a_label(document: str) -> None:
    doc = parse(document)
    label_targets = [label.attrs.get("for") for label in doc.find("label")]
    ids = [e.attrs["id"] for e in doc.elements if e.attrs.get("id")]
    assert len(ids) == len(set(ids)), "ids must be unique"
    for element in doc.find("input"):
        if element.attrs.get("type") == "hidden":
            continue
        assert element.attrs.get("id"), element
        assert label_targets.count(element.attrs["id"]) == 1, element
    for target in label_targets:
        assert target in ids


def test_buttons_are_real_submit_buttons(document: str) -> None:
    doc = parse(document)
    for button in doc.find("button"):
        assert button.attrs.get("type") == "submit"
        # In its form, or naming one on the page (HTML's form attribute: no nesting).
        owner = button.attrs.get("form")
        assert ("form" in button.parents) != bool(owner)
        assert owner is None or len(doc.find("form", id=owner)) == 1
        assert button.text.strip()
    assert not doc.find("input", type="submit")


def test_forms_post_and_carry_the_csrf_token(document: str) -> None:
    """Every form posts with exactly one CSRF token; the only other hidden field is the
    authorization request to start again with (chalicelib/endpoints/restart.py)."""
    doc = parse(document)
    forms = doc.find("form")
    for form in forms:
        assert form.attrs.get("method") == "post"
        inside = [e for e in doc.find("input", type="hidden") if e.form is form]
        assert [e.attrs.get("name") for e in inside].count("csrf") == 1
    hidden = doc.find("input", type="hidden")
    assert {e.attrs.get("name") for e in hidden} <= {"csrf", "restart"}
    assert all(e.form is not None for e in hidden)


# --- login ------------------------------------------------------------------------------


def test_login_form_fields() -> None:
    doc = parse(login())
    h1 = doc.one("h1")
    assert "Sign in" in h1.text
    assert "to continue to" in h1.text
    assert "Acme Notes" in h1.text
    form = doc.find("form")[0]
    assert form.attrs["action"] == f"{ISSUER}/interaction/i-1/login"
    csrf = doc.find("input", name="csrf", type="hidden")
    assert {e.attrs["value"] for e in csrf} == {"csrf-login-123"}
    assert doc.one("input", name="restart").attrs["value"] == RESTART
    assert doc.one("input", name="restart").form is form
    username = doc.one("input", name="username")
    assert username.attrs.get("autocomplete") == "username"
    assert username.attrs.get("type") == "text"
    assert username.attrs.get("value") == ""
    password = doc.one("input", name="password")
    assert password.attrs.get("type") == "password"
    assert password.attrs.get("autocomplete") == "current-password"
    assert "value" not in password.attrs
    sign_in = [b for b in doc.find("button") if b.form is form]
    assert [b.text.strip() for b in sign_in] == ["Sign in"]
    names = sorted(e.attrs.get("name") or "" for e in doc.find("input") if e.form is form)
    assert names == ["csrf", "password", "restart", "username"]
    assert not [e for e in doc.elements if e.attrs.get("role") == "alert"]
    assert not [e for e in doc.elements if "aria-invalid" in e.attrs]


def test_login_prefills_login_hint() -> None:
    doc = parse(login(login_hint="bob@example.org"))
    assert doc.one("input", name="username").attrs["value"] == "bob@example.org"


def test_login_username_takes_precedence_over_hint() -> None:
    doc = parse(login(login_hint="bob", username="carol"))
    assert doc.one("input", name="username").attrs["value"] == "carol"


def test_login_error_is_announced_and_marks_inputs_invalid() -> None:
    doc = parse(login(error="Wrong username or password.", username="alice"))
    alerts = [e for e in doc.elements if e.attrs.get("role") == "alert"]
    assert len(alerts) == 1
    assert alerts[0].text.strip() == "Wrong username or password."
    alert_id = alerts[0].attrs.get("id")
    assert alert_id
    for name in ("username", "password"):
        field_ = doc.one("input", name=name)
        assert field_.attrs.get("aria-invalid") == "true"
        assert alert_id in (field_.attrs.get("aria-describedby") or "").split()
    assert doc.one("input", name="username").attrs["value"] == "alice"


def test_login_describes_requested_scopes() -> None:
    doc = parse(login(scopes=["openid", "notes:read"]))
    items = [li.text.strip() for li in doc.find("li")]
    assert items == [pages.describe_scope("openid"), pages.describe_scope("notes:read")]


# --- consent ----------------------------------------------------------------------------


def test_consent_page_content() -> None:
    scopes = ["openid", "profile", "notes:write", "calendar.read"]
    doc = parse(consent(scopes=scopes))
    h1 = doc.one("h1")
    assert " ".join(h1.text.split()) == "Acme Notes wants to access your account"
    assert "Signed in as alice" in " ".join(doc.one("body").text.split())
    items = [" ".join(li.text.split()) for li in doc.find("li")]
    assert items == [pages.describe_scope(scope) for scope in scopes]
    assert "Use the \u201ccalendar.read\u201d permission" in items


def test_consent_form_has_allow_and_deny() -> None:
    doc = parse(consent())
    form = doc.find("form")[0]
    assert form.attrs["action"] == f"{ISSUER}/interaction/i-1/consent"
    csrf = doc.find("input", name="csrf", type="hidden")
    assert {e.attrs["value"] for e in csrf} == {"csrf-consent-456"}
    assert doc.one("input", name="restart").form is form
    buttons = [b for b in doc.find("button") if b.form is form]
    assert len(buttons) == 2
    by_value = {b.attrs.get("value"): b for b in buttons}
    assert set(by_value) == {"allow", "deny"}
    assert all(b.attrs.get("name") == "decision" for b in buttons)
    assert by_value["allow"].text.strip() == "Allow"
    assert by_value["deny"].text.strip() == "Deny"
    assert "primary" in (by_value["allow"].attrs.get("class") or "").split()
    assert "secondary" in (by_value["deny"].attrs.get("class") or "").split()
    for button in buttons:
        assert "disabled" not in button.attrs
        assert button.attrs.get("tabindex") in (None, "0")
    # The visible inputs of the consent form are only the two buttons.
    assert {e.attrs.get("type") for e in doc.find("input")} == {"hidden"}


def test_consent_with_no_scopes_still_renders() -> None:
    doc = parse(consent(scopes=[]))
    assert not doc.find("li")
    assert len(doc.find("button")) == 3


# --- error ------------------------------------------------------------------------------


def test_error_page_shows_title_and_message() -> None:
    doc = parse(error(title="Request not valid", message="The link is broken."))
    assert doc.one("h1").text.strip() == "Request not valid"
    assert "Request not valid" in doc.one("title").text
    assert "The link is broken." in doc.one("main").text
    assert not doc.find("form")
    assert not doc.find("input")
    assert not doc.find("a")


# --- escaping ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "render",
    [
        pytest.param(lambda: login(client_name=EVIL), id="login-client"),
        pytest.param(lambda: login(login_hint=EVIL), id="login-hint"),
        pytest.param(lambda: login(username=EVIL), id="login-username"),
        pytest.param(lambda: login(error=EVIL), id="login-error"),
        pytest.param(lambda: login(csrf=EVIL), id="login-csrf"),
        pytest.param(lambda: login(action=EVIL), id="login-action"),
        pytest.param(lambda: login(scopes=[EVIL]), id="login-scope"),
        pytest.param(lambda: consent(client_name=EVIL), id="consent-client"),
        pytest.param(lambda: consent(username=EVIL), id="consent-username"),
        pytest.param(lambda: consent(scopes=[EVIL]), id="consent-scope"),
        pytest.param(lambda: consent(csrf=EVIL), id="consent-csrf"),
        pytest.param(lambda: consent(action=EVIL), id="consent-action"),
        pytest.param(lambda: consent(return_host=EVIL), id="consent-host"),
        pytest.param(lambda: consent(signout_action=EVIL), id="consent-signout"),
        pytest.param(lambda: consent(restart=EVIL), id="consent-restart"),
        pytest.param(lambda: login(restart=EVIL), id="login-restart"),
        pytest.param(lambda: login(cancel_action=EVIL), id="login-cancel"),
        pytest.param(lambda: error(link=(EVIL, EVIL)), id="error-link"),
        pytest.param(lambda: error(title=EVIL), id="error-title"),
        pytest.param(lambda: error(message=EVIL), id="error-message"),
    ],
)
def test_dynamic_values_are_escaped(render: Callable[[], str]) -> None:
    document = render()
    assert "<script" not in document
    assert EVIL not in document
    assert "alert(1)</script>" not in document
    assert EVIL_ESCAPED in document
    doc = parse(document)
    assert not doc.find("script")
    # The value survives the round trip intact, as text or as an attribute value.
    texts = [e.text for e in doc.elements] + [
        v or "" for e in doc.elements for v in e.attrs.values()
    ]
    assert any(EVIL in text for text in texts)


def test_escaped_constant_matches_html_escape() -> None:
    import html

    assert html.escape(EVIL, quote=True) == EVIL_ESCAPED


# --- describe_scope ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "words"),
    [
        ("openid", "Confirm who you are (your account identifier)"),
        ("profile", "See your name and basic profile"),
        ("email", "See your email address"),
        ("address", "See your postal address"),
        ("phone", "See your phone number"),
        ("offline_access", "Stay signed in to this app when you are not using it"),
        ("notes:read", "Read your notes"),
        ("notes:write", "Create and change your notes"),
        ("calendar.read", "Use the \u201ccalendar.read\u201d permission"),
        ("", "Use the \u201c\u201d permission"),
    ],
)
def test_describe_scope(scope: str, words: str) -> None:
    assert pages.describe_scope(scope) == words


# --- stylesheet -------------------------------------------------------------------------


def test_stylesheet_is_first_party_and_cached() -> None:
    css = pages.stylesheet()
    assert css is pages.stylesheet()
    assert "prefers-color-scheme: dark" in css
    assert ":focus-visible" in css
    assert "@import" not in css
    assert "url(" not in css
    assert not re.search(r"https?://", css)
    # 6.5 KB until the pages gained Cancel and "Not you?"; 7 KB until the second-factor pages.
    assert len(css.encode()) < 8 * 1024
