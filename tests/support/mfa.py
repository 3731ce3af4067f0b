"""TOTP codes for tests: one that no step near `now` accepts, whatever the random secret."""

from __future__ import annotations

from chalicelib.accounts import totp


def wrong_code(secret: str, now: int, margin: int = 2) -> str:
    """A 6-digit code that is the code of no step within `margin` steps of `now`'s (wider
    than the server's window, so a clock that moves on during the test changes nothing)."""
    current = now // totp.STEP
    near = {totp.code_at(secret, step) for step in range(current - margin, current + margin + 1)}
    # At most 2 * margin + 1 codes are taken: one of these candidates is always free.
    return next(c for c in (f"{d}" * totp.DIGITS for d in range(10)) if c not in near)
