"""Each page ends in a way on (issue 16 item 6): Cancel on the login page, where consent
returns to and "Not you? Sign out", Cancel first on the sign-out confirmation, and an
error page's one link (an expired sign-in's "Start again")."""

from __future__ import annotations

from chalicelib.http import pages
from tests.unit.pages_doc import ISSUER, SETTINGS, consent, error, login, parse


def test_login_has_a_way_back_to_the_app() -> None:
    """Issue 16.6: Cancel posts (with the CSRF token) to the cancel step, after the form."""
    doc = parse(login())
    _login_form, cancel_form = doc.find("form")
    assert cancel_form.attrs["action"] == f"{ISSUER}/interaction/i-1/cancel"
    (button,) = [b for b in doc.find("button") if b.form is cancel_form]
    assert " ".join(button.text.split()) == "Cancel and return to Acme Notes"
    assert "link" in (button.attrs.get("class") or "").split()  # quieter than Sign in
    assert not parse(login(cancel_action=None)).find("form", action=cancel_form.attrs["action"])


def test_consent_shows_where_the_person_returns_and_who_is_signed_in() -> None:
    """Issue 16.6: the host either answer goes to; "Not you? Sign out" posts to the sign-out
    step with the CSRF token, from a form after the consent form."""
    doc = parse(consent())
    text = " ".join(doc.one("body").text.split())
    assert "Either way, you will return to app.example:8443." in text
    assert doc.one("strong", **{"class": "host"}).text == "app.example:8443"
    switch = doc.one("button", form="switch-account")
    assert switch.text.strip() == "Not you? Sign out"
    assert "p" in switch.parents  # next to "Signed in as alice"
    consent_form, signout_form = doc.find("form")
    assert consent_form.attrs["action"] == f"{ISSUER}/interaction/i-1/consent"
    assert signout_form.attrs["action"] == f"{ISSUER}/interaction/i-1/signout"
    assert signout_form.attrs["id"] == "switch-account"
    bare = parse(consent(return_host="", signout_action=None))
    assert len(bare.find("form")) == 1 and len(bare.find("button")) == 2
    assert "return to" not in bare.one("body").text


def test_error_page_with_a_way_on_links_it() -> None:
    url = f"{ISSUER}/authorize?client_id=acme&login_hint=alice"
    doc = parse(error(link=("Start again", url)))
    link = doc.one("a")
    assert link.attrs["href"] == url and link.text == "Start again"
    assert "close this page" not in doc.one("main").text


def test_logout_confirmation_has_cancel_first() -> None:
    """Issue 16.6: Cancel is the form's first button, so Enter does not sign out."""
    doc = parse(
        pages.logout_page(settings=SETTINGS, action=f"{ISSUER}/logout", csrf="x", fields={})
    )
    buttons = doc.find("button")
    assert [(b.attrs.get("value"), b.text) for b in buttons] == [
        ("cancel", "Cancel"),
        ("logout", "Sign out"),
    ]
    assert {b.attrs.get("name") for b in buttons} == {"decision"}
