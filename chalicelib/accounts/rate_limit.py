"""Brute-force limits on logins and client authentication (RFC 6749 10.10, "Credentials-
Guessing Attacks"; SECURITY.md item 18).

Only failures count: a wrong password, an unknown user, a wrong client secret. Each kind
of attempt has three fixed-window counters, and an attempt is refused, unchecked, while any
of them has reached its limit in the current window:

    subject x source address    login: 10 failures / 15 min    client: 20 / 5 min
    subject from anywhere       login: 100 / 15 min            client: 200 / 5 min
    source address, any subject login: 50 / 15 min             client: 100 / 5 min

(the subject is the username as mapped by chalicelib/accounts/usernames.py, or as typed
when it names no possible account, or the client_id presented; the numbers are the
defaults, all in Settings). The per-address limit stops one machine from spraying many
accounts; the pair limit stops it from hammering one.

No lockout of others. A limit on the account alone would let anyone lock alice out by
typing wrong passwords for her, so the tight limit applies to the (account, address)
pair: an attacker hammering alice from one address is stopped after 10 tries, while alice
signs in from her own address. The per-account limit (100 over all addresses) bounds what
a botnet rotating addresses can try against one account; it does not apply to a browser
that has signed in to that account before (a signed device cookie, chalicelib/accounts/
devices.py; SECURITY.md item 32), so a stranger who reaches it cannot keep alice out of her
own account from her own browser. A new browser of alice's waits out the window, which is
the price of bounding guesses at all. The per-address limits are loose because many people
may share one address (a NAT, an office): their own failures add up, and reaching the
limit blocks them all there for the rest of the window. The same holds for clients: a
client's real deployment keeps its token requests while someone else guesses its secret
from elsewhere.

Logins are counted before the password is checked (SECURITY.md item 30): `attempt()`
reads the counters (a blocked attacker costs one read and no argon2 hash), then adds one
to each with an atomic UpdateItem that returns the new count, and checks the password
only if no new count is past its limit. So however many attempts run in parallel, at most
`limit` of them are checked per window: each count is the failures so far plus the
attempts being checked right now. An attempt refused after counting gives its counts
back, and so does a successful login (`succeeded()`): only failures stay counted. A
give-back that fails is logged and left: it can only over-count, never let more through.
Client authentication is checked first and only a failure is counted (`failed()`): client
credentials carry 256 bits or a signature, so parallel guessing is hopeless there.

Fixed windows: counter keys hold the window's start (`RATE#<scope>#<sha256>` /
`W#<start>`), so an old window's counter is never read again, whether or not DynamoDB's TTL
has deleted it. A burst across a window boundary can get up to twice a limit through.

Cost: a login reads all three counters in one BatchGetItem before any expensive work (the
argon2 password hash), then counts with three UpdateItems; a success gives them back with
three more. A client authentication costs nothing when it succeeds, one read and three
UpdateItems when it fails.

Privacy: usernames, client_ids and addresses are stored only as SHA-256 hashes in counter
keys. That keeps them out of plain sight, not secret: an IPv4 address or a common username
can be recovered from its hash by enumeration. The counters live one window.

When the counters cannot be read or written, the store's StoreUnavailable reaches the
caller and the attempt gets 503 temporarily_unavailable (SECURITY.md item 25): the check is
never skipped, because failing open would let brute force through during an outage.

The source address is API Gateway's `requestContext.identity.sourceIp` (never a header the
client could set); an IPv4-mapped IPv6 address counts as its IPv4 address, and an empty
address (tests) is one bucket. IPv6 is counted by network: per /64 (the block one
subscriber usually holds) for an account from one source and for client authentication,
and per /56 (SECURITY.md item 32) for logins from one source to any accounts, so a
subscriber rotating through the 256 /64s of a /56 is one source there and cannot, alone,
reach an account's limit over all addresses (50 < 100 by default).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from chalicelib.deps import Deps
from chalicelib.ids import digest
from chalicelib.stores.table import StoreUnavailable

log = logging.getLogger("tollgate.rate_limit")


@dataclass(frozen=True)
class Rule:
    """At most `limit` failures per `window` seconds for one `scope` of subject."""

    scope: str
    limit: int
    window: int


@dataclass(frozen=True)
class _Counter:
    rule: Rule
    key: str  # sha256 of the subject: never the username, client_id or address itself
    window_start: int

    @property
    def subject(self) -> str:
        return f"{self.rule.scope}#{self.key}"

    @property
    def window_end(self) -> int:
        return self.window_start + self.rule.window


class Limiter:
    """The counters one attempt must pass. Logins: `attempt()` before the password is checked,
    `succeeded()` after a success. Clients: `blocked()` before, `failed()` after a failure."""

    def __init__(self, deps: Deps, rules: list[tuple[Rule, list[str]]]) -> None:
        self._deps = deps
        now = deps.clock.now()
        self._counters = [
            _Counter(rule, digest(json.dumps(parts)), now - now % rule.window)
            for rule, parts in rules
        ]

    def blocked(self) -> int | None:
        """Seconds until every limit this attempt has reached resets; None when none has.

        Raises StoreUnavailable when the counters cannot be read.
        """
        store = self._deps.store
        counts = store.limits.counts([(c.subject, c.window_start) for c in self._counters])
        reached = [c for c, n in zip(self._counters, counts, strict=True) if n >= c.rule.limit]
        if not reached:
            return None
        log.info("attempt refused: limit reached for %s", [c.rule.scope for c in reached])
        return max(1, max(c.window_end for c in reached) - self._deps.clock.now())

    def counts(self) -> dict[str, int]:
        """The count of each of this attempt's counters, by scope (one read)."""
        store = self._deps.store
        counts = store.limits.counts([(c.subject, c.window_start) for c in self._counters])
        return {c.rule.scope: n for c, n in zip(self._counters, counts, strict=True)}

    def attempt(self) -> int | None:
        """Count this attempt on every counter before anything is checked; None when it may go
        on, else the seconds until the limits it went past reset (and nothing stays counted).

        Raises StoreUnavailable when the counters cannot be read or written.
        """
        wait = self.blocked()
        if wait is not None:
            return wait
        counted: list[_Counter] = []
        try:
            for counter in self._counters:
                count = self._deps.store.limits.add(
                    counter.subject, counter.window_start, counter.window_end
                )
                counted.append(counter)
                if count > counter.rule.limit:
                    # Attempts running in parallel took the last places: refused unchecked,
                    # and given back (the counters after this one are left alone).
                    self._give_back(counted)
                    log.info("attempt refused after counting: %s", counter.rule.scope)
                    return max(1, counter.window_end - self._deps.clock.now())
        except StoreUnavailable:
            self._give_back(counted)
            raise
        return None

    def succeeded(self) -> None:
        """The attempt `attempt()` let through was no failure: give its counts back."""
        self._give_back(self._counters)

    def _give_back(self, counters: list[_Counter]) -> None:
        for counter in counters:
            try:
                self._deps.store.limits.give_back(counter.subject, counter.window_start)
            except StoreUnavailable:
                # Left counted: the limit is reached sooner, never later (fails closed).
                log.warning("could not give back a %s count", counter.rule.scope)

    def failed(self) -> int | None:
        """Count one failure on every counter; the seconds until the limits this failure went
        past reset, or None while none is exceeded. Raises StoreUnavailable when it cannot."""
        over: list[_Counter] = []
        for counter in self._counters:
            # The ttl ends with the window: the counter is never read after it anyway.
            count = self._deps.store.limits.add(
                counter.subject, counter.window_start, counter.window_end
            )
            if count == counter.rule.limit:
                log.warning(
                    "brute-force limit reached: %s %s... (%d failures in %d s)",
                    counter.rule.scope,
                    counter.key[:12],
                    count,
                    counter.rule.window,
                )
            if count > counter.rule.limit:
                over.append(counter)
        if not over:
            return None
        return max(1, max(c.window_end for c in over) - self._deps.clock.now())


SUBSCRIBER = 64  # IPv6 prefix of one source for an account (and for clients)
SITE = 56  # IPv6 prefix of one source over all accounts (SECURITY.md item 32)


def source(address: str, prefix: int = SUBSCRIBER) -> str:
    """The source address as it is counted: an IPv6 address by its network of `prefix`."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # empty (tests) or unparseable: one bucket per distinct string
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))
    return str(ip)


def for_login(deps: Deps, username: str, address: str, *, known_browser: bool) -> Limiter:
    """The login limits; a browser that signed in to `username` before is not held to the
    account's limit over all addresses (SECURITY.md item 32)."""
    settings = deps.settings
    window = settings.login_window
    pair = [username, source(address, SUBSCRIBER)]
    rules = [(Rule("login-account-ip", settings.login_limit_account_ip, window), pair)]
    if not known_browser:
        rules.append((Rule("login-account", settings.login_limit_account, window), [username]))
    rules.append((Rule("login-ip", settings.login_limit_ip, window), [source(address, SITE)]))
    return Limiter(deps, rules)


def for_client(deps: Deps, client_id: str, address: str) -> Limiter:
    settings = deps.settings
    window = settings.client_auth_window
    ip = source(address)
    return Limiter(
        deps,
        [
            (Rule("client-id-ip", settings.client_auth_limit_client_ip, window), [client_id, ip]),
            (Rule("client-id", settings.client_auth_limit_client, window), [client_id]),
            (Rule("client-ip", settings.client_auth_limit_ip, window), [ip]),
        ],
    )


def for_authorize(deps: Deps, address: str) -> Limiter:
    """Pending authorizations stored for one source (SECURITY.md item 31): each anonymous
    GET /authorize writes one, so their number per source address and window is bounded
    (counted with `failed()`: each one counts, and past the limit nothing is stored)."""
    settings = deps.settings
    rule = Rule("authorize-ip", settings.authorize_limit_ip, settings.authorize_window)
    return Limiter(deps, [(rule, [source(address, SITE)])])


def for_registration(deps: Deps, address: str) -> Limiter:
    """Dynamic registrations from one source (SECURITY.md item 53), counted with `failed()`
    like pending authorizations: each attempt counts, and past the limit nothing is read."""
    settings = deps.settings
    rule = Rule("register-ip", settings.registration_limit_ip, settings.registration_window)
    return Limiter(deps, [(rule, [source(address, SITE)])])


def for_documents(deps: Deps, address: str) -> Limiter:
    """Client ID Metadata Document fetches caused by one source (SECURITY.md item 53)."""
    settings = deps.settings
    rule = Rule("document-ip", settings.document_limit_ip, settings.registration_window)
    return Limiter(deps, [(rule, [source(address, SITE)])])


def minutes(seconds: int) -> str:
    """'1 minute', 'N minutes': a wait rounded up to whole minutes, for people."""
    count = max(1, -(-seconds // 60))
    return "1 minute" if count == 1 else f"{count} minutes"
