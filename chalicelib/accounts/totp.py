"""TOTP second factor (RFC 6238, pyotp): secrets, sealing, codes, QR, recovery codes.

pyotp, segno and cryptography are imported on first use: signing in with a password alone
loads none of them (tests/unit/test_cold_start.py).

- A secret is 160 random bits (RFC 4226 4 recommends 160), shown once at enrolment as a QR
  code (rendered here as inline SVG: no third-party service sees it) and as text.
- At rest it is sealed with AES-256-GCM under a key kept in the table (stores/factors.py),
  bound to the user and factor (associated data), so a factor item copied to another user
  or read on its own (an export, a log of items) yields nothing (SECURITY.md item 56).
- A code is accepted for the current 30 s step or one step either side (RFC 6238 5.2:
  clock drift), and only for a step later than the last one accepted (SECURITY.md item 57):
  a code seen over a shoulder or phished is spent once it was used.
- Recovery codes: 10 codes of 80 random bits (16 base32 characters), shown once; stored
  as SHA-256 over (username, code). 80 bits make guessing hopeless online and offline, so no
  slow hash is needed, and a code is found by its key in one read (SECURITY.md item 58).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets

DIGITS = 6
STEP = 30
WINDOW = 1  # steps accepted either side of the current one
RECOVERY_CODES = 10
_BASE32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


def new_secret() -> str:
    """160 random bits, base32 (the form authenticator apps take)."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii")


def _aad(username: str, factor_id: str) -> bytes:
    return json.dumps(["tollgate-totp", username, factor_id]).encode()


def seal(key: bytes, username: str, factor_id: str, secret: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = secrets.token_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, secret.encode("ascii"), _aad(username, factor_id))
    return base64.b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, username: str, factor_id: str, sealed: str) -> str:
    """The secret; raises ValueError when it was sealed for another user or factor."""
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    raw = base64.b64decode(sealed)
    try:
        clear = AESGCM(key).decrypt(raw[:12], raw[12:], _aad(username, factor_id))
    except InvalidTag:
        raise ValueError("the secret does not open for this user and factor") from None
    return clear.decode("ascii")


def code_at(secret: str, step: int) -> str:
    import pyotp

    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP).generate_otp(step)


def matching_step(secret: str, code: str, now: int) -> int | None:
    """The time step within the window whose code `code` is; None when none is."""
    import hmac

    code = "".join(code.split())
    if len(code) != DIGITS or not code.isascii() or not code.isdigit():
        return None
    current = now // STEP
    found = None
    for step in range(current - WINDOW, current + WINDOW + 1):
        # Every step is compared (no early exit): the time taken says nothing of which one.
        if hmac.compare_digest(code_at(secret, step), code):
            found = step
    return found


def provisioning_uri(secret: str, username: str, issuer_name: str) -> str:
    import pyotp

    totp = pyotp.TOTP(secret, digits=DIGITS, interval=STEP)
    return totp.provisioning_uri(name=username, issuer_name=issuer_name)


def qr_svg(uri: str) -> str:
    """The URI as an inline SVG QR code, black on white in light and dark schemes alike."""
    import segno

    return str(segno.make(uri, error="m").svg_inline(scale=5, dark="#000", light="#fff"))


def grouped(secret: str) -> str:
    """The secret for typing: groups of four."""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def new_recovery_codes() -> list[str]:
    return [
        "-".join("".join(secrets.choice(_BASE32) for _ in range(4)) for _group in range(4))
        for _code in range(RECOVERY_CODES)
    ]


def normal_recovery(code: str) -> str | None:
    """A recovery code as typed (any case, spaces or dashes) in its one form; None if it
    cannot be one."""
    plain = "".join(c for c in code.upper() if c not in " -")
    if len(plain) != 16 or any(c not in _BASE32 for c in plain):
        return None
    return "-".join(plain[i : i + 4] for i in range(0, 16, 4))


def recovery_hash(username: str, code: str) -> str:
    return hashlib.sha256(json.dumps([username, code]).encode()).hexdigest()
