"""Starting a sign-in again once its pending authorization has expired (issue 16 item 6).

The login and consent forms carry the original authorization request's essentials in one
hidden field. When a form comes back after the pending authorization is gone (10 minutes,
then DynamoDB forgets it), the expired page links to /authorize with those essentials
(client, redirect URI, scope, state, nonce, PKCE challenge, resources, prompt, max_age,
acr_values, dpop_jkt) and
the username the person typed as `login_hint`, so nothing they did is lost and the client's
own state and PKCE verifier still match. The field is only a hint: the link is offered only
when it names a registered client and one of its registered redirect URIs, and /authorize
checks everything again when it is followed. A GET of an expired page has no form, so it
offers nothing, and neither does a form of a client that must push its requests (PAR).
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode

from chalicelib.deps import Deps
from chalicelib.endpoints import par
from chalicelib.endpoints.authorization_request import prove_target
from chalicelib.errors import OAuthError, PageError
from chalicelib.protocol.params import Params
from chalicelib.stores.models import Interaction

FIELD = "restart"
MAX_FIELD = 16 * 1024
MAX_USERNAME = 128  # as the login form reads it
# What the link may carry: the authorization request's own parameters, nothing else.
ESSENTIALS = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "resource",
    "prompt",
    "max_age",
    "login_hint",
    "acr_values",
    "dpop_jkt",  # RFC 9449 10: the code stays bound to the client's key
)


def essentials(interaction: Interaction) -> str:
    """The authorization request again, as a query string (the hidden field's value)."""
    pairs: list[tuple[str, str]] = [("client_id", interaction.client_id)]
    if interaction.redirect_uri_sent:
        pairs.append(("redirect_uri", interaction.redirect_uri))
    pairs += [("response_type", "code"), ("scope", " ".join(interaction.scopes))]
    optional = {
        "state": interaction.state,
        "nonce": interaction.nonce,
        "prompt": " ".join(interaction.prompt) or None,
        "max_age": None if interaction.max_age is None else str(interaction.max_age),
        "login_hint": interaction.login_hint,
        "acr_values": " ".join(interaction.acr_values) or None,
        "dpop_jkt": interaction.dpop_jkt,
    }
    pairs += [(name, value) for name, value in optional.items() if value is not None]
    if interaction.code_challenge:
        pairs += [
            ("code_challenge", interaction.code_challenge),
            ("code_challenge_method", "S256"),
        ]
    pairs += [("resource", r) for r in interaction.resources]
    return urlencode(pairs)


def link(deps: Deps, form: dict[str, list[str]]) -> str | None:
    """The /authorize URL that starts the posted sign-in again, or None when the form does
    not name a registered client and redirect URI."""
    carried = form.get(FIELD, [])
    if len(carried) != 1 or not 0 < len(carried[0]) <= MAX_FIELD:
        return None
    try:
        raw = parse_qs(carried[0], max_num_fields=len(ESSENTIALS) + 10)
    except ValueError:
        return None
    kept = {name: values for name, values in raw.items() if name in ESSENTIALS}
    typed = form.get("username", [""])[0].strip()[:MAX_USERNAME]
    if typed:
        kept["login_hint"] = [typed]  # what the person typed wins over the client's hint
    try:
        target = prove_target(deps, Params(kept))
    except (PageError, OAuthError):
        return None
    if par.required(deps, target.client):
        return None  # a plain request would be refused: the client must push anew (RFC 9126)
    query = urlencode([(name, v) for name, values in kept.items() for v in values])
    return deps.settings.endpoint(f"/authorize?{query}")
