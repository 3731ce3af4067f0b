"""Authorization responses (RFC 6749 4.1.2, RFC 9207): code or error, always with `iss`.

Also where a finished authorization becomes a single-use code. Its grant is created when
the code is redeemed (stores/codes.py; SECURITY.md item 35), so a code never redeemed
leaves nothing behind once it expires.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit, urlunsplit

from chalicelib.deps import Deps
from chalicelib.errors import OAuthError
from chalicelib.http.message import HttpResponse
from chalicelib.ids import digest, new_id, new_secret
from chalicelib.observability import audit
from chalicelib.stores.models import AuthorizationCode, Interaction, Session


def redirect_to_client(redirect_uri: str, params: dict[str, str]) -> HttpResponse:
    parts = urlsplit(redirect_uri)
    query = urlencode(params)
    merged = f"{parts.query}&{query}" if parts.query else query
    return HttpResponse.redirect(urlunsplit(parts._replace(query=merged, fragment="")))


def error_redirect(
    deps: Deps, redirect_uri: str, error: OAuthError, state: str | None
) -> HttpResponse:
    params = error.body()
    if state is not None:
        params["state"] = state
    params["iss"] = deps.settings.issuer
    return redirect_to_client(redirect_uri, params)


def issue_code(deps: Deps, interaction: Interaction, session: Session) -> HttpResponse:
    """Record a fresh code (naming the grant it will create), then send the browser back."""
    now = deps.clock.now()
    code = new_secret()
    record = AuthorizationCode(
        code_hash=digest(code),
        client_id=interaction.client_id,
        redirect_uri=interaction.redirect_uri if interaction.redirect_uri_sent else "",
        code_challenge=interaction.code_challenge,
        scopes=interaction.scopes,
        sub=session.sub,
        grant_id=new_id(),
        auth_time=session.auth_time,
        expires_at=now + (interaction.code_ttl or deps.settings.code_ttl),
        nonce=interaction.nonce,
        sid=session.sid or None,
        amr=session.amr,
        resources=interaction.resources,
        dpop_jkt=interaction.dpop_jkt,
        username=session.username,
        stamp=session.stamp,
    )
    deps.store.codes.put(record)
    audit.code_issued(record)
    params = {"code": code}
    if interaction.state is not None:
        params["state"] = interaction.state
    params["iss"] = deps.settings.issuer
    return redirect_to_client(interaction.redirect_uri, params)
