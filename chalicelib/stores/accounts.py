"""A user account's lifecycle over its records (SECURITY.md items 27 and 33): what disabling,
a new password and deleting do to the user's sessions, grants and consents.

Each step is ordered so that a failure part-way leaves the account no more open than before
and a retry finishes the job: the user item changes first (a disabled user is refused by
every path at once), then what hangs off it.

Disabling revokes the user's grants and ends the sessions, so enabling again revives none of
them. Redeeming a code and rotating a refresh token also check, in their own transaction,
that the user is enabled (stores/codes.py, stores/refresh_tokens.py): a code issued before
the disable has no grant yet to revoke, and the transaction and the disable are serialised
on the user item, so none slips through.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from chalicelib.ids import new_id
from chalicelib.stores.consents import ConsentRepository
from chalicelib.stores.factors import FactorRepository
from chalicelib.stores.grants import GrantRepository
from chalicelib.stores.models import User
from chalicelib.stores.sessions import SessionRepository
from chalicelib.stores.users import UserRepository

DISABLED_REASON = "user disabled"
FACTOR_REMOVED_REASON = "a factor was removed"


@dataclass
class Ended:
    """What a lifecycle step ended."""

    sessions: int = 0
    revoked_grants: list[str] = field(default_factory=list)
    deleted_grants: list[str] = field(default_factory=list)
    deleted_consents: list[str] = field(default_factory=list)
    factors: int = 0


class AccountRepository:
    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        grants: GrantRepository,
        consents: ConsentRepository,
        factors: FactorRepository,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._grants = grants
        self._consents = consents
        self._factors = factors

    def disable(self, user: User, when: int) -> Ended:
        """Refuse the user everywhere, revoke its grants and end its sessions. A new stamp
        voids every code, refresh token and session issued before, for good."""
        self._users.save(dataclasses.replace(user, disabled=True, stamp=new_id()))
        revoked = self._grants.revoke_all(user.sub, when, DISABLED_REASON)
        return Ended(sessions=self._sessions.end_all(user.sub), revoked_grants=revoked)

    def enable(self, user: User) -> None:
        """Let the user sign in again; revoked grants and ended sessions stay so."""
        self._users.save(dataclasses.replace(user, disabled=False))

    def set_password(self, user: User, password_hash: str) -> Ended:
        """A new password ends every session (the admin has no session of the user's own to
        keep): a browser that knew the old password signs in again."""
        self._users.save(dataclasses.replace(user, password_hash=password_hash))
        return Ended(sessions=self._sessions.end_all(user.sub))

    def reset_mfa(self, user: User, when: int) -> Ended:
        """Remove every second factor and recovery code (a lost device), after ending the
        user's sessions and grants (end_for_factor)."""
        ended = self.end_for_factor(user.sub, when)
        ended.factors = self._factors.remove_all(user.username)
        return ended

    def remove_factor(self, user: User, factor_id: str, when: int) -> Ended | None:
        """Remove one factor (None when the user has no such factor), after ending the
        user's sessions and grants (end_for_factor)."""
        if not any(f.factor_id == factor_id for f in self._factors.list_for(user.username)):
            return None
        ended = self.end_for_factor(user.sub, when)
        if not self._factors.remove(user.username, factor_id):
            return None
        ended.factors = 1
        return ended

    def end_for_factor(self, sub: str, when: int, keep: str | None = None) -> Ended:
        """A factor is going, and it may have been an intruder's: the user's sessions end
        (all but `keep`, the security page's own) and its grants are revoked, since a refresh
        token outlives its session. Both can be done again, so callers do this before they
        remove the factor: a failure between the steps leaves it to retry."""
        if keep is None:
            sessions = self._sessions.end_all(sub)
        else:
            others = [s for s in self._sessions.list_for(sub) if s.sid_hash != keep]
            for other in others:
                self._sessions.delete(other)
            sessions = len(others)
        revoked = self._grants.revoke_all(sub, when, FACTOR_REMOVED_REASON)
        return Ended(sessions=sessions, revoked_grants=revoked)

    def sign_out(self, user: User) -> Ended:
        return Ended(sessions=self._sessions.end_all(user.sub))

    def revoke_grants(self, user: User, when: int, reason: str) -> Ended:
        """Revoke all the user's grants, then delete its consents: the next authorization of
        any client asks again. Grants first, as in ConsentRepository.revoke."""
        revoked = self._grants.revoke_all(user.sub, when, reason)
        return Ended(revoked_grants=revoked, deleted_consents=self._consents.delete_all(user.sub))

    def delete(self, user: User, when: int) -> Ended:
        """Remove the user: disable it first, then its sessions, consents and grants, and
        the user with its `sub` pointer last, so a retry after a failure finds it again."""
        ended = self.disable(user, when)
        ended.deleted_consents = self._consents.delete_all(user.sub)
        ended.deleted_grants = self._grants.delete_all(user.sub)
        ended.factors = self._factors.remove_all(user.username)
        self._users.delete(user)
        return ended
