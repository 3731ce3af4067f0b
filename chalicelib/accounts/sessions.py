"""Single sign-on sessions at Tollgate: a random cookie whose SHA-256 keys the stored session."""

from __future__ import annotations

from chalicelib.deps import Deps
from chalicelib.http import cookies
from chalicelib.http.message import HttpRequest
from chalicelib.ids import digest, new_id, new_secret
from chalicelib.stores.models import Session, User


def current(deps: Deps, request: HttpRequest) -> tuple[Session, User] | None:
    """The live session of this browser and its (enabled) user, or None."""
    sid = request.cookies.get(cookies.name(deps.settings, cookies.SESSION))
    if not sid or len(sid) > 128:
        return None
    session = deps.store.sessions.get(digest(sid))
    if session is None or session.expires_at <= deps.clock.now():
        return None
    user = deps.store.users.get(session.username)
    if user is None or user.disabled or user.sub != session.sub or user.stamp != session.stamp:
        return None  # disabled, or disabled since this sign-in (User.stamp)
    return session, user


def start(deps: Deps, user: User, amr: list[str]) -> tuple[Session, str]:
    """A new session; returns it with the Set-Cookie header value."""
    sid = new_secret()
    now = deps.clock.now()
    session = Session(
        sid_hash=digest(sid),
        sub=user.sub,
        username=user.username,
        auth_time=now,
        amr=amr,
        expires_at=now + deps.settings.session_ttl,
        sid=new_id(),
        stamp=user.stamp,
    )
    deps.store.sessions.put(session)
    cookie = cookies.set_cookie(deps.settings, cookies.SESSION, sid, deps.settings.session_ttl)
    return session, cookie
