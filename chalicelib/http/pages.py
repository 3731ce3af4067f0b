"""Server-rendered HTML pages a person sees while signing in.

Every page is a complete HTML5 document with no JavaScript, no inline styles and
no third-party assets: all presentation lives in one static stylesheet, so the
pages work under ``default-src 'none'; style-src 'self'; img-src 'self' data:``.
Every dynamic value goes through :func:`_e` (``html.escape`` with ``quote=True``).
"""

from __future__ import annotations

import functools
import html
from pathlib import Path

from chalicelib.settings import Settings

__all__ = [
    "STYLESHEET_PATH",
    "consent_page",
    "describe_scope",
    "error_page",
    "login_page",
    "logout_page",
    "script",
    "signed_out_page",
    "still_signed_in_page",
    "stylesheet",
]

STYLESHEET_PATH = "/static/tollgate.css"
SCRIPT_PATH = "/static/passkey.js"
PRODUCT_NAME = "Tollgate"

_SCOPE_DESCRIPTIONS: dict[str, str] = {
    "openid": "Confirm who you are (your account identifier)",
    "profile": "See your name and basic profile",
    "email": "See your email address",
    "address": "See your postal address",
    "phone": "See your phone number",
    "offline_access": "Stay signed in to this app when you are not using it",
    "notes:read": "Read your notes",
    "notes:write": "Create and change your notes",
}


def _e(value: str) -> str:
    """Escape text for use in element content and in quoted attribute values."""
    return html.escape(value, quote=True)


def describe_scope(scope: str) -> str:
    """A plain-words description of what granting ``scope`` lets an app do."""
    described = _SCOPE_DESCRIPTIONS.get(scope)
    if described is not None:
        return described
    return f"Use the \u201c{scope}\u201d permission"


@functools.cache
def stylesheet() -> str:
    """The text of the stylesheet served at :data:`STYLESHEET_PATH`."""
    return (Path(__file__).parent / "static" / "tollgate.css").read_text(encoding="utf-8")


@functools.cache
def script() -> str:
    """The passkey ceremonies served at :data:`SCRIPT_PATH` (chalicelib/http/passkey_pages.py)."""
    return (Path(__file__).parent / "static" / "passkey.js").read_text(encoding="utf-8")


def _document(*, title: str, body: str, settings: Settings | None, script: bool = False) -> str:
    """Wrap card content (already escaped) in the shared page chrome.

    The stylesheet's URL comes from the issuer: under a stage path (`https://host/dev`) a
    root-relative `/static/...` would leave the stage. Without settings (they failed to
    load) the page goes unstyled rather than unanswered.
    """
    link = ""
    if settings is not None:
        href = _e(settings.endpoint(STYLESHEET_PATH))
        link = f'<link rel="stylesheet" href="{href}">\n'
        if script:  # the passkey ceremonies, from the issuer too (CSP script-src 'self')
            src = _e(settings.endpoint(SCRIPT_PATH))
            link += f'<script src="{src}" defer></script>\n'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex, nofollow">
<meta name="color-scheme" content="light dark">
<title>{_e(title)} \u00b7 {PRODUCT_NAME}</title>
<link rel="icon" href="data:,">
{link}</head>
<body>
<main class="page">
<div class="card">
<header class="brand"><span class="brand-mark" aria-hidden="true"></span>\
<span class="brand-name">{PRODUCT_NAME}</span></header>
{body.strip()}
</div>
</main>
</body>
</html>
"""


def _scope_list(scopes: list[str], *, css_class: str) -> str:
    items = "\n".join(f"<li>{_e(describe_scope(scope))}</li>" for scope in scopes)
    return f'<ul class="{css_class}">\n{items}\n</ul>'


def _restart_field(restart: str) -> str:
    if not restart:
        return ""
    return f'<input type="hidden" name="restart" value="{_e(restart)}">\n'


def _cancel_form(action: str | None, csrf: str, client_name: str) -> str:
    if action is None:
        return ""
    return f"""<form class="leave" method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<p class="muted"><button class="link" type="submit">Cancel and return to \
{_e(client_name)}</button></p>
</form>
"""


def login_page(
    *,
    settings: Settings,
    client_name: str,
    action: str,
    csrf: str,
    scopes: list[str],
    login_hint: str | None = None,
    error: str | None = None,
    username: str | None = None,
    cancel_action: str | None = None,
    restart: str = "",
    passkey: str = "",
) -> str:
    """The sign-in form: username, password and the CSRF token, posted to ``action``.

    ``passkey`` is the "Continue with a passkey" form (chalicelib/http/passkey_pages.py): with
    it, the username field offers the browser's passkeys as autofill (conditional UI).

    ``cancel_action`` takes the person back to the app (an access_denied answer);
    ``restart`` is the authorization request again, should this one expire meanwhile."""
    prefill = username if username is not None else (login_hint or "")
    invalid = ' aria-invalid="true" aria-describedby="login-error"' if error else ""
    alert = f'<div class="alert" id="login-error" role="alert">{_e(error)}</div>\n' if error else ""
    # Put the cursor where the person needs to type next.
    user_focus = "" if prefill else " autofocus"
    password_focus = " autofocus" if prefill else ""
    autocomplete = "username webauthn" if passkey else "username"
    details = ""
    if scopes:
        details = (
            '<details class="scopes-preview">\n'
            f"<summary>What {_e(client_name)} is asking for</summary>\n"
            f"{_scope_list(scopes, css_class='scope-list compact')}\n"
            "</details>\n"
        )
    body = f"""<h1>Sign in <span class="subtitle">to continue to \
<span class="client">{_e(client_name)}</span></span></h1>
{alert}<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
{_restart_field(restart)}<div class="field">
<label for="username">Username</label>
<input id="username" name="username" type="text" value="{_e(prefill)}" \
autocomplete="{autocomplete}" autocapitalize="none" spellcheck="false" \
required{invalid}{user_focus}>
</div>
<div class="field">
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" \
required{invalid}{password_focus}>
</div>
<button class="button primary block" type="submit">Sign in</button>
</form>
{passkey}{_cancel_form(cancel_action, csrf, client_name)}{details}"""
    title = f"Sign in to {client_name}"
    return _document(title=title, body=body, settings=settings, script=bool(passkey))


def consent_page(
    *,
    settings: Settings,
    client_name: str,
    action: str,
    csrf: str,
    username: str,
    scopes: list[str],
    return_host: str = "",
    signout_action: str | None = None,
    restart: str = "",
    unverified: tuple[str | None] | None = None,
) -> str:
    """Ask the signed-in person whether ``client_name`` may have ``scopes``.

    ``return_host`` is where either answer sends them; ``signout_action`` ends the session
    and returns to the sign-in step ("Not you?"). ``unverified`` is (the host of its
    metadata document, or None) for a client the operator did not register: the page says
    so, so that a name is not taken for a verified one and ``claude.ai`` and
    ``claude-ai.evil.example`` look different."""
    listing = (
        _scope_list(scopes, css_class="scope-list")
        if scopes
        else '<p class="muted">No additional access.</p>'
    )
    back = ""
    if return_host:
        back = f' Either way, you will return to <strong class="host">{_e(return_host)}</strong>.'
    switch = signout = ""
    if signout_action is not None:
        # The button sits with the account it signs out of; its form (no nesting) follows
        # the consent form, so Enter in the page and the first form stay the consent's.
        switch = (
            ' <button class="link" type="submit" form="switch-account">Not you? Sign out</button>'
        )
        signout = f"""<form id="switch-account" method="post" action="{_e(signout_action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
</form>
"""
    body = f"""<h1><span class="client">{_e(client_name)}</span> wants to access your account</h1>
<p class="account">Signed in as <strong>{_e(username)}</strong>{switch}</p>
{_unverified(unverified, return_host)}<section class="request" aria-labelledby="scopes-heading">
<h2 id="scopes-heading">This will allow {_e(client_name)} to:</h2>
{listing}
</section>
<p class="muted note">Only allow this if you trust {_e(client_name)}.{back}</p>
<form class="actions" method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
{_restart_field(restart)}\
<button class="button secondary" type="submit" name="decision" value="deny">Deny</button>
<button class="button primary" type="submit" name="decision" value="allow">Allow</button>
</form>
{signout}"""
    return _document(title=f"Allow access to {client_name}?", body=body, settings=settings)


def _unverified(hosts: tuple[str | None] | None, return_host: str) -> str:
    """The notice on a client the operator did not register (SECURITY.md 54), with the
    hosts a person can check: where the answer goes, where the client's details came from."""
    if hosts is None:
        return ""
    (document_host,) = hosts
    where = (
        f' Its details come from <strong class="host">{_e(document_host)}</strong>.'
        if document_host
        else ""
    )
    back = (
        f' Allowing sends you to <strong class="host">{_e(return_host)}</strong>.'
        if return_host
        else ""
    )
    return (
        '<div class="notice" id="unverified">\n'
        "<p><strong>Not verified by the operator of this server.</strong> This application "
        f"registered itself: its name is its own claim.{where}{back}</p>\n</div>\n"
    )


def error_page(
    *,
    settings: Settings | None,
    title: str,
    message: str,
    reference: str | None = None,
    link: tuple[str, str] | None = None,
) -> str:
    """A friendly error card showing only ``title``, ``message`` and the request's
    ``reference`` (all escaped; the reference finds the request's log lines), and ``link``
    (label, URL) when there is a way on, such as starting an expired sign-in again."""
    shown = f'\n<p class="muted">Reference: <code>{_e(reference)}</code></p>' if reference else ""
    if link is None:
        way_on = (
            '<p class="muted">You can close this page and try again from the app you were '
            "using.</p>"
        )
    else:
        label, url = link
        way_on = f'<a class="button primary block" href="{_e(url)}">{_e(label)}</a>'
    body = f"""<div class="error-icon" aria-hidden="true"></div>
<h1>{_e(title)}</h1>
<p class="message">{_e(message)}</p>
{way_on}{shown}
"""
    return _document(title=title, body=body, settings=settings)


def demo_callback_page(*, settings: Settings, params: dict[str, str]) -> str:
    """The demo clients' redirect target in local and dev stages: shows what came back."""
    rows = "\n".join(
        f"<dt>{_e(name)}</dt><dd><code>{_e(value)}</code></dd>" for name, value in params.items()
    )
    if "code" in params:
        heading = "Authorization code received"
        hint = (
            "Exchange it at the token endpoint within 60 seconds with the curl command "
            f"that make run printed (token endpoint: {settings.endpoint('/token')})."
        )
    else:
        heading = "The authorization did not complete"
        hint = "The server sent the application an error instead of a code."
    body = f"""<h1>{_e(heading)}</h1>
<dl class="demo-result">
{rows}
</dl>
<p class="muted">{_e(hint)}</p>
"""
    return _document(title=heading, body=body, settings=settings)


def logout_page(*, settings: Settings, action: str, csrf: str, fields: dict[str, str]) -> str:
    """Ask before signing out (RP-Initiated Logout 1.0, 2): a link alone must not end a session."""
    hidden = "\n".join(
        f'<input type="hidden" name="{_e(name)}" value="{_e(value)}">'
        for name, value in fields.items()
    )
    body = f"""<h1>Sign out of Tollgate?</h1>
<p class="message">You will need to sign in again the next time an app asks for your account.</p>
<form class="actions" method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
{hidden}
<button class="button secondary" type="submit" name="decision" value="cancel">Cancel</button>
<button class="button primary" type="submit" name="decision" value="logout">Sign out</button>
</form>
"""
    return _document(title="Sign out?", body=body, settings=settings)


def still_signed_in_page(*, settings: Settings) -> str:
    """Sign-out cancelled, and no app to go back to."""
    body = """<h1>You are still signed in</h1>
<p class="message">Nothing changed. You can close this page.</p>
"""
    return _document(title="Still signed in", body=body, settings=settings)


def signed_out_page(*, settings: Settings) -> str:
    body = """<h1>You are signed out</h1>
<p class="message">You can close this page.</p>
"""
    return _document(title="Signed out", body=body, settings=settings)
