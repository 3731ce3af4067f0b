"""What `tollgate local run` prints once the stack answers: ready-to-open authorization
requests (with PKCE) for both demo clients, and the curl commands that finish each flow."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import shlex
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chalicelib.admin.local_seed import (
    CLIENT_SCOPES,
    DEMO_SCOPES,
    TABLE,
    WEB_SCOPES,
    DemoCredentials,
)

# Requests to our own children must never go through an HTTP proxy from the environment.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def pkce_pair() -> tuple[str, str]:
    """A code_verifier (RFC 7636 4.1) and its S256 code_challenge."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def discover(issuer: str) -> tuple[str, str]:
    """The authorization and token endpoints from discovery, or the usual paths."""
    endpoints = (f"{issuer}/authorize", f"{issuer}/token")
    try:
        url = f"{issuer}/.well-known/openid-configuration"
        with opener.open(url, timeout=3) as response:
            doc: Any = json.loads(response.read())
    except (OSError, ValueError):
        return endpoints
    if not isinstance(doc, dict):
        return endpoints
    authorize, token = doc.get("authorization_endpoint"), doc.get("token_endpoint")
    if isinstance(authorize, str) and isinstance(token, str):
        return authorize, token
    return endpoints


def authorization_url(
    authorize_endpoint: str, client_id: str, redirect_uri: str, scopes: list[str] | None = None
) -> tuple[str, str]:
    """A ready-to-open authorization request with PKCE, and the verifier that redeems it."""
    verifier, challenge = pkce_pair()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes or DEMO_SCOPES),
            "state": secrets.token_urlsafe(16),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{authorize_endpoint}?{query}", verifier


def banner(creds: DemoCredentials, issuer: str, moto_url: str, state_file: Path) -> str:
    authorize, token = discover(issuer)
    spa_url, spa_verifier = authorization_url(
        authorize, creds.spa_client_id, creds.redirect_uri, CLIENT_SCOPES
    )
    web_url, web_verifier = authorization_url(
        authorize, creds.web_client_id, creds.redirect_uri, WEB_SCOPES
    )
    q = shlex.quote

    def exchange(auth: list[str], verifier: str) -> str:
        parts = [
            "curl",
            "-s",
            *auth,
            "-d",
            "grant_type=authorization_code",
            "-d",
            "code=PASTE_CODE",
            "-d",
            q(f"redirect_uri={creds.redirect_uri}"),
            "-d",
            f"code_verifier={verifier}",
            q(token),
        ]
        return " ".join(parts)

    web_auth = ["-u", q(f"{creds.web_client_id}:{creds.web_client_secret}")]
    spa_auth = ["-d", q(f"client_id={creds.spa_client_id}")]
    bearer = "curl -s -H 'Authorization: Bearer PASTE_TOKEN'"
    note = q('{"text": "hello"}')
    return "\n".join(
        [
            "",
            f"Tollgate is running at {issuer}",
            f"  DynamoDB: moto at {moto_url}, table {TABLE}",
            f"  Sign in as {creds.username!r} with password {creds.password}",
            "",
            f"Single-page app (public client {creds.spa_client_id}). Open:",
            f"  {spa_url}",
            "then exchange the code from the callback URL:",
            f"  {exchange(spa_auth, spa_verifier)}",
            "",
            f"Web app (confidential client {creds.web_client_id}, "
            f"secret {creds.web_client_secret}). Open:",
            f"  {web_url}",
            "then exchange the code from the callback URL:",
            f"  {exchange(web_auth, web_verifier)}",
            "",
            "Then call the demo protected API with the access_token:",
            f"  {bearer} {q(issuer + '/api/whoami')}",
            f"  {bearer} {q(issuer + '/api/notes')}",
            f"  {bearer} -H 'Content-Type: application/json' -d {note} {q(issuer + '/api/notes')}",
            "",
            "The web app's flow also returns a refresh_token (it asks for offline_access).",
            f"The demo credentials are kept in {state_file}. Ctrl-C stops everything.",
            "",
        ]
    )
