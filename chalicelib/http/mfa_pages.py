"""The second-step pages: enter a code, set up an authenticator app, keep the recovery codes.

As the other pages (chalicelib/http/pages.py): no script, no inline style, nothing from a
third party. The QR code is inline SVG made on the server (chalicelib/accounts/totp.py),
so the secret it holds reaches no other service.
"""

from __future__ import annotations

from chalicelib.http.pages import _cancel_form, _document, _e
from chalicelib.settings import Settings


def _alert(error: str | None) -> tuple[str, str]:
    if not error:
        return "", ""
    alert = f'<div class="alert" id="code-error" role="alert">{_e(error)}</div>\n'
    return alert, ' aria-invalid="true" aria-describedby="code-error"'


def _code_field(label: str, hint: str, invalid: str) -> str:
    return f"""<div class="field">
<label for="code">{_e(label)}</label>
<p class="muted hint" id="code-hint">{_e(hint)}</p>
<input id="code" name="code" type="text" autocomplete="one-time-code" \
autocapitalize="none" spellcheck="false" aria-describedby="code-hint" required \
autofocus{invalid}>
</div>"""


def code_page(
    *,
    settings: Settings,
    client_name: str,
    action: str,
    csrf: str,
    username: str,
    error: str | None = None,
    cancel_action: str | None = None,
    passkey: str = "",
    codes: bool = True,
) -> str:
    """Ask for the 6-digit code of the user's authenticator app, or a recovery code; and
    offer the user's passkey (`passkey`: its form), which alone is asked when not `codes`."""
    alert, invalid = _alert(error)
    form = ""
    if codes:
        field = _code_field(
            "Code", "The 6-digit code from your authenticator app, or a recovery code.", invalid
        )
        other = '<p class="muted or">Or enter a code</p>\n' if passkey else ""
        form = f"""{other}<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
{field}
<button class="button {"secondary" if passkey else "primary"} block" type="submit">\
Continue</button>
</form>
"""
    body = f"""<h1>Confirm it is you <span class="subtitle">to continue to \
<span class="client">{_e(client_name)}</span></span></h1>
<p class="account">Signing in as <strong>{_e(username)}</strong></p>
{alert}{passkey}{form}{_cancel_form(cancel_action, csrf, client_name)}"""
    return _document(title="Enter your code", body=body, settings=settings, script=bool(passkey))


def enrol_page(
    *,
    settings: Settings,
    client_name: str,
    action: str,
    csrf: str,
    username: str,
    qr_svg: str,
    manual_key: str,
    error: str | None = None,
    cancel_action: str | None = None,
) -> str:
    """Set up an authenticator app: scan the QR code (or type the key), enter a code."""
    alert, invalid = _alert(error)
    field = _code_field("Code", "The 6-digit code the app shows now.", invalid)
    body = f"""<h1>Set up a second step <span class="subtitle">to continue to \
<span class="client">{_e(client_name)}</span></span></h1>
<p class="account">Signing in as <strong>{_e(username)}</strong></p>
{alert}<p class="message">{_e(client_name)} needs more than a password. Scan this code with \
an authenticator app, then enter the code it shows.</p>
<figure class="qr" role="img" aria-label="QR code of the key below">{qr_svg}</figure>
<p class="muted">Cannot scan it? Enter this key in the app instead:</p>
<p class="manual-key"><code>{_e(manual_key)}</code></p>
<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
{field}
<button class="button primary block" type="submit">Turn it on</button>
</form>
{_cancel_form(cancel_action, csrf, client_name)}"""
    return _document(title="Set up a second step", body=body, settings=settings)


def recovery_codes_page(
    *, settings: Settings, client_name: str, action: str, csrf: str, codes: list[str]
) -> str:
    """The recovery codes, shown this once."""
    items = "\n".join(f"<li><code>{_e(code)}</code></li>" for code in codes)
    body = f"""<h1>Save your recovery codes</h1>
<p class="message">If you lose your phone, each of these codes signs you in once. Keep them \
somewhere safe: they are shown only now.</p>
<ul class="recovery-codes">
{items}
</ul>
<form method="post" action="{_e(action)}">
<input type="hidden" name="csrf" value="{_e(csrf)}">
<button class="button primary block" type="submit" name="step" value="continue">\
I saved them: continue to {_e(client_name)}</button>
</form>
"""
    return _document(title="Save your recovery codes", body=body, settings=settings)
