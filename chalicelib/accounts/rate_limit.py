"""Brute-force limits on logins and client authentication (RFC 6749 10.10, "Credentials-
Guessing Attacks"; SECURITY.md item 18).

Only failures count: a wrong password, an unknown user, a wrong client secret. Each kind
of attempt has three fixed-window counters, and an attempt is refused, unchecked, while any
of them has reached its limit in the current window:

    subject x source address    login: 10 failures / 15 min    client: 20 / 5 min
    subject from anywhere       login: 100 / 15 min            client: 200 / 5 min
    source address, any subject login: 50 / 15 min             client: 100 / 5 min

(the subject is the username typed, or the client_id presented; the numbers are the
defaults, all in Settings). The per-address limit stops one machine from spraying many
accounts; the pair limit stops it from hammering one.

No lockout of others. A limit on the account alone would let anyone lock alice out by
typing wrong passwords for her, so the tight limit applies to the (account, address)
pair: an attacker hammering alice from one address is stopped after 10 tries, while alice
signs in from her own address. The per-account limit (100 over all addresses) bounds what
a botnet rotating addresses can try against one account; reaching it does lock alice out
until the window ends, which is the price of bounding guesses at all. It is 10 times looser
than the pair limit so that it takes many addresses to reach it. The per-address limits
are loose because many people may share one address (a NAT, an office): their own failures
add up, and reaching the limit blocks them all there for the rest of the window. The same
holds for clients: a client's real deployment keeps its token requests while someone else
guesses its secret from elsewhere.

Fixed windows: counter keys hold the window's start (`RATE#<scope>#<sha256>` /
`W#<start>`), so an old window's counter is never read again, whether or not DynamoDB's TTL
has deleted it. A burst across a window boundary can get up to twice a limit through, and
attempts already past the check when the limit is reached still finish (so parallel
attempts may overshoot by the number in flight); in exchange each count is one atomic
write and each check one read, with no read-modify-write and no lock.

Cost: the check reads all three counters in one BatchGetItem before any expensive work (the
argon2 password hash, the client's record), so a blocked attacker costs one read. A failure
costs three UpdateItems. Successes are never written.

Privacy: usernames, client_ids and addresses are stored only as SHA-256 hashes in counter
keys. That keeps them out of plain sight, not secret: an IPv4 address or a common username
can be recovered from its hash by enumeration. The counters live one window.

When the counters cannot be read or written, the store's StoreUnavailable reaches the
caller and the attempt gets 503 temporarily_unavailable (SECURITY.md item 25): the check is
never skipped, because failing open would let brute force through during an outage.

The source address is API Gateway's `requestContext.identity.sourceIp` (never a header the
client could set). IPv6 addresses count per /64, the block one subscriber usually holds (an
IPv4-mapped one as its IPv4 address). An empty address (tests) is one bucket.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from chalicelib.deps import Deps
from chalicelib.ids import digest

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
    """The counters one attempt must pass: `blocked()` before it, `failed()` after a failure."""

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


def source(address: str) -> str:
    """The source address as it is counted: an IPv6 address by its /64 network."""
    import ipaddress

    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address  # empty (tests) or unparseable: one bucket per distinct string
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def for_login(deps: Deps, username: str, address: str) -> Limiter:
    settings = deps.settings
    window = settings.login_window
    ip = source(address)
    return Limiter(
        deps,
        [
            (Rule("login-account-ip", settings.login_limit_account_ip, window), [username, ip]),
            (Rule("login-account", settings.login_limit_account, window), [username]),
            (Rule("login-ip", settings.login_limit_ip, window), [ip]),
        ],
    )


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


def minutes(seconds: int) -> str:
    """'1 minute', 'N minutes': a wait rounded up to whole minutes, for people."""
    count = max(1, -(-seconds // 60))
    return "1 minute" if count == 1 else f"{count} minutes"
