"""Rendering the sign-in pages for unit tests, and reading them back: every element with its
attributes, text, enclosing tags and form (tests/unit/test_pages*.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from chalicelib.http import pages
from chalicelib.settings import Settings

# An issuer with a path, as API Gateway's default URL has (`.../<stage>`): every URL a page
# holds must stay under it.
ISSUER = "https://auth.example.test/dev"
SETTINGS = Settings(issuer=ISSUER, table_name="tollgate-test")

RESTART = "client_id=acme&response_type=code&scope=openid&state=s%26t"
EVIL = "<script>alert(1)</script>\"'&"
EVIL_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;&#x27;&amp;"
VOID = {
    "area", "base", "br", "col", "embed", "hr", "img", "input",
    "link", "meta", "source", "track", "wbr",
}  # fmt: skip


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""
    parents: list[str] = field(default_factory=list)
    form: Element | None = None  # the form it sits in


class Collector(HTMLParser):
    """Collects every element with its attributes and text; checks that tags nest."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.open: list[Element] = []
        self.decls: list[str] = []
        self.errors: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.decls.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = [name for name, _ in attrs]
        if len(names) != len(set(names)):
            self.errors.append(f"duplicate attribute on <{tag}>")
        form = next((e for e in reversed(self.open) if e.tag == "form"), None)
        element = Element(tag, dict(attrs), parents=[e.tag for e in self.open], form=form)
        self.elements.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1].tag != tag:
            self.errors.append(f"unexpected </{tag}>")
            return
        self.open.pop()

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [
            e
            for e in self.elements
            if e.tag == tag and all(e.attrs.get(k) == v for k, v in attrs.items())
        ]

    def one(self, tag: str, **attrs: str) -> Element:
        found = self.find(tag, **attrs)
        assert len(found) == 1, (tag, attrs, found)
        return found[0]


def parse(document: str) -> Collector:
    collector = Collector()
    collector.feed(document)
    collector.close()
    assert not collector.errors, collector.errors
    assert not collector.open, [e.tag for e in collector.open]
    return collector


def login(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "settings": SETTINGS,
        "client_name": "Acme Notes",
        "action": SETTINGS.endpoint("/interaction/i-1/login"),
        "csrf": "csrf-login-123",
        "scopes": ["openid", "email"],
        "cancel_action": SETTINGS.endpoint("/interaction/i-1/cancel"),
        "restart": RESTART,
    }
    kwargs.update(overrides)
    return pages.login_page(**kwargs)  # type: ignore[arg-type]


def consent(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "settings": SETTINGS,
        "client_name": "Acme Notes",
        "action": SETTINGS.endpoint("/interaction/i-1/consent"),
        "csrf": "csrf-consent-456",
        "username": "alice",
        "scopes": ["openid", "profile", "notes:write", "calendar.read"],
        "return_host": "app.example:8443",
        "signout_action": SETTINGS.endpoint("/interaction/i-1/signout"),
        "restart": RESTART,
    }
    kwargs.update(overrides)
    return pages.consent_page(**kwargs)  # type: ignore[arg-type]


def error(**overrides: object) -> str:
    kwargs: dict[str, object] = {
        "settings": SETTINGS,
        "title": "This link has expired",
        "message": "Go back to the app and start again.",
    }
    kwargs.update(overrides)
    return pages.error_page(**kwargs)  # type: ignore[arg-type]
