"""The store: one repository per record kind, all over the one table.

Key layout (pk / sk); each repository's module documents its own:
    CLIENT#<client_id>         / CLIENT                          clients.py
    USER#<username>            / USER                            users.py
    USER#<username>            / FACTOR#<id>, RECOVERY#<hash>    factors.py (second factors)
    SUB#<sub>                  / SUB       the username of a subject (UserInfo), or a
                                           client's reservation of its id (clients.py)
    SESSION#<sha256(sid)>      / SESSION            ttl          sessions.py
    SESSIONS#<sub>             / SESSION#<sha256(sid)>  ttl      index: a user's sessions
    INTERACTION#<id>           / INTERACTION        ttl          interactions.py
    PAR#<sha256(request_uri)>  / PAR                ttl          pushed_requests.py
    CODE#<sha256(code)>        / CODE               ttl          codes.py
    RT#<sha256(token)>         / RT                 ttl          refresh_tokens.py
    GRANT#<grant_id>           / GRANT                           grants.py
    GRANTS#<sub>               / GRANT#<created_at>#<grant_id>   index: a user's grants
    JTI#<jti>                  / REVOKED   a revoked access token (RFC 7009), ttl
    CONSENT#<sub>              / CLIENT#<client_id>              consents.py
    KEYS                       / KEY#<kid>                       keys.py
    NOTES#<sub>                / NOTE#<created_at>#<id>          notes.py (demo API)
    JTI#<sha256(client, jti)>  / ASSERTION  a used client assertion, ttl   assertions.py
    DPOP#<sha256(jkt, jti)>    / DPOP       a used DPoP proof, ttl          dpop.py
    RATE#<scope>#<sha256(key)> / W#<window start>  failure counter, ttl   limits.py
    DEVICEKEY                  / DEVICEKEY  the key of device cookies    limits.py
    IAT#<sha256(token)>        / IAT       an initial access token, ttl   registration_tokens.py
    CIMD#<sha256(url)>         / CIMD      a fetched client document, ttl client_documents.py
    RESOURCES                  / RESOURCE#<uri>  a resource server       resources.py

Writes that span two kinds are one transaction, kept on the repository that owns it:
CodeRepository.redeem (code + its refresh token), RefreshTokenRepository.rotate and
.supersede, UserRepository.create (user + SUB pointer), SessionRepository.put (session + index),
ClientRepository.create (client + SUB reservation),
CodeRepository.redeem (code + grant + its index + refresh token, while the user is enabled);
ConsentRepository.revoke revokes the grants first and then deletes the consent.
AccountRepository (accounts.py) orders what disabling, a new password and deleting a user
do to its sessions, grants and consents.
"""

from __future__ import annotations

from chalicelib.stores.accounts import AccountRepository
from chalicelib.stores.assertions import AssertionGuard
from chalicelib.stores.challenges import ChallengeRepository
from chalicelib.stores.client_documents import ClientDocuments
from chalicelib.stores.clients import ClientRepository
from chalicelib.stores.codes import CodeRepository
from chalicelib.stores.consents import ConsentRepository
from chalicelib.stores.dpop import DpopProofs
from chalicelib.stores.factors import FactorRepository
from chalicelib.stores.grants import GrantRepository
from chalicelib.stores.interactions import InteractionRepository
from chalicelib.stores.keys import KeyRepository
from chalicelib.stores.limits import FailureCounters
from chalicelib.stores.notes import NoteRepository
from chalicelib.stores.pushed_requests import PushedRequestRepository
from chalicelib.stores.refresh_tokens import RefreshTokenRepository
from chalicelib.stores.registration_tokens import RegistrationTokens
from chalicelib.stores.resources import ResourceRepository
from chalicelib.stores.sessions import SessionRepository
from chalicelib.stores.table import Table
from chalicelib.stores.users import UserRepository


class Store:
    def __init__(self, table: Table) -> None:
        self.table = table
        self.clients = ClientRepository(table)
        self.users = UserRepository(table)
        self.sessions = SessionRepository(table)
        self.interactions = InteractionRepository(table)
        self.pushed = PushedRequestRepository(table)
        self.codes = CodeRepository(table)
        self.refresh = RefreshTokenRepository(table)
        self.grants = GrantRepository(table)
        self.consents = ConsentRepository(table, self.grants)
        self.factors = FactorRepository(table)
        self.challenges = ChallengeRepository(table)
        self.accounts = AccountRepository(
            self.users, self.sessions, self.grants, self.consents, self.factors
        )
        self.keys = KeyRepository(table)
        self.limits = FailureCounters(table)
        self.assertions = AssertionGuard(table)
        self.notes = NoteRepository(table)
        self.dpop = DpopProofs(table)
        self.registration_tokens = RegistrationTokens(table)
        self.client_documents = ClientDocuments(table)
        self.resources = ResourceRepository(table)
