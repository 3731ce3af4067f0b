"""Passkeys (WebAuthn Level 3, py_webauthn): options, verification, and what a use proved.

py_webauthn (and cbor2, pyOpenSSL) load on first use: a password sign-in loads none of them
(tests/unit/test_cold_start.py).

- The RP ID is the issuer's host and the origin its scheme://host[:port] (SECURITY.md item
  68): under an API Gateway stage path (`https://x.execute-api.../dev`) the origin is still
  the host's, and a passkey made under one host never signs in under another (a custom
  domain is a new RP ID: README "Passkeys").
- User verification is required at registration and at every use (item 65): a passkey alone
  is two factors (the device and its PIN or biometric), so it meets `phr` and MFA.
- A challenge is 32 random bytes for one use (item 66): a sign-in's lives in its pending
  authorization (10 minutes) and is replaced when used; a registration's is kept 5 minutes
  (stores/challenges.py), bound to the session.
- The signature counter only moves forward (item 67): a response whose counter is not above
  the stored one (unless both are 0, as synced passkeys report) is refused and audited.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from chalicelib import json_input
from chalicelib.http.cors import origin_of
from chalicelib.stores.challenges import Challenge
from chalicelib.stores.models import Factor

if TYPE_CHECKING:
    from chalicelib.deps import Deps
    from chalicelib.settings import Settings

CHALLENGE_TTL = 300
TIMEOUT_MS = 120_000
MAX_CREDENTIAL = 16_384  # characters of the posted credential JSON
RP_NAME = "Tollgate"
PASSKEY = "passkey"


class PasskeyRefused(Exception):
    """A response that does not verify; `reason` says why, in words (never a secret)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CounterWentBack(PasskeyRefused):
    """A signed response whose counter is not above the stored one: a cloned authenticator."""


def rp_id(settings: Settings) -> str:
    return urlsplit(settings.issuer).hostname or ""


def origin(settings: Settings) -> str:
    """The issuer's origin as a browser serialises it into clientDataJSON (lower-case host,
    no default port), which the library compares byte for byte."""
    return origin_of(settings.issuer) or ""


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"[A-Za-z0-9_-]*")


def _unb64url(text: str) -> bytes:
    """base64url from a page (padding optional); PasskeyRefused for anything else, so a
    malformed field is a refused response, never a server error."""
    body = text.rstrip("=")
    if not _B64URL.fullmatch(body) or len(body) % 4 == 1 or len(text) - len(body) > 2:
        raise PasskeyRefused("malformed passkey response")
    return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))


def method(factor: Factor) -> str:
    """The RFC 8176 amr value of a passkey: `swk` when it may be synced (backup eligible,
    a key held in software across devices), `hwk` when it is bound to one device."""
    return "swk" if factor.backup_eligible else "hwk"


def new_challenge(deps: Deps, purpose: str, bound_to: str, username: str = "") -> bytes:
    raw = secrets.token_bytes(32)
    until = deps.clock.now() + CHALLENGE_TTL
    deps.store.challenges.issue(b64url(raw), Challenge(purpose, bound_to, username), until)
    return raw


def registration_options(
    deps: Deps, *, username: str, sub: str, existing: list[Factor], bound_to: str
) -> str:
    """navigator.credentials.create() options (JSON): a discoverable credential with user
    verification, never a second one on an authenticator that holds one of these."""
    from webauthn import generate_registration_options, options_to_json
    from webauthn.helpers.structs import (
        AuthenticatorSelectionCriteria,
        PublicKeyCredentialDescriptor,
        ResidentKeyRequirement,
        UserVerificationRequirement,
    )

    options = generate_registration_options(
        rp_id=rp_id(deps.settings),
        rp_name=RP_NAME,
        user_name=username,
        user_id=sub.encode("utf-8"),  # the user handle: opaque, never the username
        challenge=new_challenge(deps, "register", bound_to, username),
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=_unb64url(f.credential_id))
            for f in existing
            if f.kind == PASSKEY and f.credential_id
        ],
    )
    return str(options_to_json(options))


def authentication_options(deps: Deps, *, challenge: str, allow: list[Factor] | None = None) -> str:
    """navigator.credentials.get() options (JSON). No `allow` (a sign-in with a passkey
    alone): any discoverable credential of this RP, and the response names its user.

    Written here rather than by py_webauthn: the login page shows this, and a password
    sign-in should not load the library (its members are WebAuthn L3's JSON form)."""
    options = {
        "challenge": challenge,  # the pending authorization's (Interaction.passkey_challenge)
        "timeout": TIMEOUT_MS,
        "rpId": rp_id(deps.settings),
        "allowCredentials": [
            {"id": f.credential_id, "type": "public-key", "transports": f.transports}
            for f in allow or []
            if f.kind == PASSKEY and f.credential_id
        ],
        "userVerification": "required",
    }
    return json.dumps(options, separators=(",", ":"))


@dataclass(frozen=True)
class Posted:
    """What the page posted: the credential JSON and the parts looked up before verifying."""

    credential: dict[str, Any]
    credential_id: str
    challenge: str
    user_handle: str | None


def read(raw: str) -> Posted:
    """Parse a posted credential (bounded, strict JSON) far enough to find its challenge,
    credential id and user handle; the signature is checked later."""
    if not raw or len(raw) > MAX_CREDENTIAL:
        raise PasskeyRefused("no passkey response")
    try:
        credential = json_input.loads_object(raw)
        response = credential["response"]
        client_data = json_input.loads_object(_unb64url(str(response["clientDataJSON"])))
        challenge = str(client_data["challenge"])
        credential_id = str(credential["rawId"])
        handle = response.get("userHandle")
    except (json_input.JsonInputError, KeyError, TypeError, ValueError) as error:
        raise PasskeyRefused("malformed passkey response") from error
    # A user handle is a `sub` (at most 255 characters): anything longer names no one.
    user_handle = None
    if isinstance(handle, str) and len(handle) <= 344:
        user_handle = _unb64url(handle).decode("utf-8", "replace")[:256]
    return Posted(credential, credential_id, challenge, user_handle)


# py_webauthn raises its own exceptions for what it checks, but a field that is base64url and
# not the structure it must decode to (CBOR of the wrong shape, a short authenticator data)
# surfaces as Python's own errors: each is a refused response, never a server error.
_LIBRARY_REFUSALS: tuple[type[Exception], ...] = (
    TypeError,
    ValueError,
    KeyError,
    IndexError,
    AttributeError,
)


def _refusals() -> tuple[type[Exception], ...]:
    from webauthn.helpers.exceptions import WebAuthnException

    return (WebAuthnException, *_LIBRARY_REFUSALS)


def verify_registration(deps: Deps, posted: Posted, username: str, factor_id: str) -> Factor:
    """The new passkey factor, when the response answers our challenge at our origin with
    user verification (SECURITY.md items 65, 68)."""
    from webauthn import verify_registration_response
    from webauthn.helpers.structs import CredentialDeviceType

    try:
        verified = verify_registration_response(
            credential=posted.credential,
            expected_challenge=_unb64url(posted.challenge),
            expected_rp_id=rp_id(deps.settings),
            expected_origin=origin(deps.settings),
            require_user_verification=True,
        )
    except _refusals() as error:
        raise PasskeyRefused(f"registration refused: {error}") from error
    transports = posted.credential["response"].get("transports")
    now = deps.clock.now()
    return Factor(
        factor_id=factor_id,
        username=username,
        kind=PASSKEY,
        created_at=now,
        label="Passkey",
        credential_id=b64url(verified.credential_id),
        public_key=b64url(verified.credential_public_key),
        sign_count=verified.sign_count,
        transports=[str(t) for t in transports][:8] if isinstance(transports, list) else [],
        backup_eligible=verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE,
        backed_up=verified.credential_backed_up,
    )


@dataclass(frozen=True)
class Used:
    sign_count: int
    backed_up: bool


def verify_sign_in(deps: Deps, posted: Posted, factor: Factor) -> Used:
    """Check a signed response of `factor`'s credential (SECURITY.md items 65, 67, 68)."""
    from webauthn import verify_authentication_response
    from webauthn.helpers.structs import CredentialDeviceType

    try:
        verified = verify_authentication_response(
            credential=posted.credential,
            expected_challenge=_unb64url(posted.challenge),
            expected_rp_id=rp_id(deps.settings),
            expected_origin=origin(deps.settings),
            credential_public_key=_unb64url(factor.public_key or ""),
            # 0: the library's own counter check runs before the signature's; ours runs
            # after it, so only a genuinely signed response is recorded as a regression.
            credential_current_sign_count=0,
            require_user_verification=True,
        )
    except _refusals() as error:
        raise PasskeyRefused(f"sign-in refused: {error}") from error
    # WebAuthn L3 7.2 step 20: backup eligibility is fixed for a credential's life; a change
    # means another credential behind the same id (and would make its amr `hwk` a lie).
    eligible = verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    if eligible != factor.backup_eligible:
        raise PasskeyRefused("backup eligibility changed since registration")
    count = verified.new_sign_count
    if (count > 0 or factor.sign_count > 0) and count <= factor.sign_count:
        raise CounterWentBack(f"signature counter {count} not above {factor.sign_count}")
    return Used(count, verified.credential_backed_up)
