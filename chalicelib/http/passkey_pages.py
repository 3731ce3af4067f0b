"""Passkey forms and the account's security page.

A passkey form carries its WebAuthn options in a data attribute; /static/passkey.js (served
by Tollgate, CSP `script-src 'self'`) runs the ceremony and posts the credential as JSON in
the form's hidden `credential` field. Without script the button posts nothing useful and
the answer says so; every other way in keeps working.
"""

from __future__ import annotations

from dataclasses import dataclass

from chalicelib.http.pages import _document, _e
from chalicelib.settings import Settings


def passkey_form(
    *, action: str, csrf: str, options: str, kind: str, label: str, primary: bool = False
) -> str:
    """`kind`: "conditional" (the login page: autofill, and the button), "get" or "create"."""
    style = "primary" if primary else "secondary"
    return f"""<form class="passkey" method="post" action="{_e(action)}" \
data-passkey="{_e(kind)}" data-passkey-options="{_e(options)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<input type="hidden" name="action" value="passkey">
<input type="hidden" name="credential" value="">
<button class="button {style} block" type="submit">{_e(label)}</button>
<p class="muted hint" data-passkey-status role="status"></p>
</form>
"""


@dataclass(frozen=True)
class FactorRow:
    factor_id: str
    name: str  # "Passkey", "Authenticator app"
    detail: str  # when added, last used


def _confirm_code() -> str:
    return """<div class="field">
<label for="confirm-code">Code</label>
<p class="muted hint" id="confirm-code-hint">From your authenticator app, or a recovery code. \
Or sign in again with your passkey.</p>
<input id="confirm-code" name="code" type="text" inputmode="text" autocomplete="one-time-code" \
aria-describedby="confirm-code-hint" required>
</div>
"""


def security_page(
    *,
    settings: Settings,
    username: str,
    action: str,
    csrf: str,
    factors: list[FactorRow],
    register_options: str,
    recovery_left: int,
    notice: str | None = None,
    error: str | None = None,
    codes: list[str] | None = None,
    confirm: bool = False,
    app: tuple[str, str] | None = None,
    has_app: bool = False,
    confirm_code: bool = False,
) -> str:
    """The signed-in person's factors: add a passkey, remove one, new recovery codes.

    `confirm`: the sign-in is not recent, so a change first asks for the password again
    (`confirm_code`: and a code of a factor, for a user who has one).
    `app`: (QR code SVG, key as text) of an authenticator app being set up."""
    alert = f'<div class="alert" id="page-error" role="alert">{_e(error)}</div>\n' if error else ""
    note = f'<p class="message" role="status">{_e(notice)}</p>\n' if notice else ""
    rows = "\n".join(
        f"""<li class="factor"><span><strong>{_e(f.name)}</strong> \
<span class="muted">{_e(f.detail)}</span></span>
<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<input type="hidden" name="factor" value="{_e(f.factor_id)}">
<button class="button secondary" type="submit" name="action" value="remove" \
aria-label="Remove {_e(f.name)}, {_e(f.detail)}">Remove</button>
</form></li>"""
        for f in factors
    )
    listing = (
        f'<ul class="factor-list">\n{rows}\n</ul>'
        if factors
        else '<p class="muted">No passkey or authenticator app yet: a password alone.</p>'
    )
    shown = ""
    if codes:
        items = "\n".join(f"<li><code>{_e(c)}</code></li>" for c in codes)
        shown = f"""<h2>Your new recovery codes</h2>
<p class="message">Each signs you in once if you lose your passkeys and phone. Keep them \
somewhere safe: they are shown only now.</p>
<ul class="recovery-codes">
{items}
</ul>
"""
    recovery = ""
    if factors:
        recovery = f"""<h2>Recovery codes</h2>
<p class="muted">{recovery_left} unused.</p>
<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<button class="button secondary block" type="submit" name="action" value="recovery">\
Make new recovery codes</button>
</form>
"""
    again = ""
    if confirm:
        again = f"""<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<input type="hidden" name="action" value="confirm">
<div class="field">
<label for="password">Password</label>
<p class="muted hint" id="password-hint">To change these settings, confirm it is you.</p>
<input id="password" name="password" type="password" autocomplete="current-password" \
aria-describedby="password-hint" required>
</div>
{_confirm_code() if confirm_code else ""}\
<button class="button primary block" type="submit">Confirm</button>
</form>
"""
    add = passkey_form(
        action=action,
        csrf=csrf,
        options=register_options,
        kind="create",
        label="Add a passkey",
        primary=not confirm,
    )
    body = f"""<h1>Security <span class="subtitle">of <strong>{_e(username)}</strong></span></h1>
{alert}{note}{shown}{again}<h2>Ways to sign in</h2>
{listing}
{add}{_app_form(action, csrf, app, has_app)}{recovery}"""
    return _document(title="Security", body=body, settings=settings, script=True)


def _app_form(action: str, csrf: str, app: tuple[str, str] | None, has_app: bool) -> str:
    """Set up an authenticator app: the button, or the QR code, key and code field."""
    if app is None:
        if has_app:
            return ""
        return f"""<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<button class="button secondary block" type="submit" name="action" value="totp">\
Set up an authenticator app</button>
</form>
"""
    qr_svg, key = app
    return f"""<h2>Set up an authenticator app</h2>
<p class="message">Scan this code with an authenticator app, then enter the code it shows.</p>
<figure class="qr" role="img" aria-label="QR code of the key below">{qr_svg}</figure>
<p class="muted">Cannot scan it? Enter this key in the app instead:</p>
<p class="manual-key"><code>{_e(key)}</code></p>
<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<input type="hidden" name="action" value="totp-confirm">
<div class="field">
<label for="code">Code</label>
<input id="code" name="code" type="text" autocomplete="one-time-code" autocapitalize="none" \
spellcheck="false" required>
</div>
<button class="button primary block" type="submit">Turn it on</button>
</form>
"""
