"""Login limits over the store, on both backends: counted before the password is checked
(SECURITY.md item 30), and the device key that lifts the account-wide limit (item 32).

The sequential tests run against MemoryTable and DynamoTable (moto); the thread race runs on
the memory table only (tests/stores/races.py says why).
"""

from __future__ import annotations

import threading

from chalicelib.accounts import rate_limit
from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.stores.repository import Store
from chalicelib.tokens.signer import LocalSigner
from tests.stores.races import only_atomic_backends
from tests.support.oauth import settings

PAIR, ACCOUNT, SOURCE = 3, 5, 8
THREADS = 12


def deps_over(store: Store, clock: FakeClock) -> Deps:
    limits = {
        "login_limit_account_ip": PAIR,
        "login_limit_account": ACCOUNT,
        "login_limit_ip": SOURCE,
    }
    return Deps(settings(**limits), store, LocalSigner(store, clock), clock)


def pair_count(deps: Deps, username: str, address: str) -> int:
    limiter = rate_limit.for_login(deps, username, address, known_browser=False)
    return limiter.counts()["login-account-ip"]


def test_attempts_are_counted_exactly_before_any_check(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 30: each attempt takes one place before its password is checked; at the
    limit the next is refused unchecked and leaves the count where it was."""
    deps = deps_over(store, clock)

    def attempt() -> int | None:
        return rate_limit.for_login(deps, "alice", "203.0.113.7", known_browser=False).attempt()

    assert [attempt() for _ in range(PAIR)] == [None] * PAIR  # three failed checks
    assert pair_count(deps, "alice", "203.0.113.7") == PAIR
    assert attempt() == 900
    assert attempt() == 900
    assert pair_count(deps, "alice", "203.0.113.7") == PAIR


def test_a_success_gives_its_place_back(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 30: only failures stay counted; successes past the limit block nobody."""
    deps = deps_over(store, clock)
    for _ in range(PAIR + 2):
        limiter = rate_limit.for_login(deps, "alice", "203.0.113.7", known_browser=False)
        assert limiter.attempt() is None
        limiter.succeeded()

    assert pair_count(deps, "alice", "203.0.113.7") == 0
    limiter = rate_limit.for_login(deps, "alice", "203.0.113.7", known_browser=False)
    assert limiter.attempt() is None


def test_a_known_browser_is_not_held_to_the_account_limit(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 32: strangers from many addresses used up alice's account-wide limit; her
    own browser still gets its attempts, a new browser does not."""
    deps = deps_over(store, clock)
    for host in range(ACCOUNT):
        address = f"198.51.100.{host}"
        assert rate_limit.for_login(deps, "alice", address, known_browser=False).attempt() is None

    home = "192.0.2.10"
    assert rate_limit.for_login(deps, "alice", home, known_browser=False).attempt() == 900
    assert rate_limit.for_login(deps, "alice", home, known_browser=True).attempt() is None


def test_the_device_key_is_made_once(store: Store) -> None:
    """SECURITY.md 32: no secret to configure; every container reads the same key."""
    key = store.limits.device_key()
    assert len(key) == 32
    assert Store(store.table).limits.device_key() == key


def test_parallel_attempts_never_check_more_than_the_limit(store: Store, clock: FakeClock) -> None:
    """SECURITY.md 30: 12 attempts at once, each holding its place until all have been
    answered (as a slow argon2 check does): at most PAIR of them are let through."""
    only_atomic_backends(store.table)
    deps = deps_over(store, clock)
    start = threading.Barrier(THREADS)
    answered = threading.Semaphore(0)
    release = threading.Event()
    through: list[int] = []
    lock = threading.Lock()

    def contender() -> None:
        limiter = rate_limit.for_login(deps, "alice", "203.0.113.7", known_browser=False)
        start.wait()
        allowed = limiter.attempt() is None
        if allowed:
            with lock:
                through.append(1)
        answered.release()
        if allowed:
            release.wait(timeout=60)  # "checking the password" while the others try

    threads = [threading.Thread(target=contender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(THREADS):
        assert answered.acquire(timeout=60)
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert 1 <= len(through) <= PAIR
    assert pair_count(deps, "alice", "203.0.113.7") == len(through)
