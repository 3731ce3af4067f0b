"""Failed-login limits against parallel guessing and targeted lockout.

SECURITY.md item 30: attempts are counted before the password is checked, so parallel
attempts never get more password checks than the limit. SECURITY.md item 32: a stranger
cannot lock a user out of their own account: a browser that has signed in to the account
before is not held to the account's limit over all addresses, and IPv6 sources are counted
per /56 over all accounts, so one /56 rotating through its /64s is one source.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from urllib.parse import urlencode, urlsplit

import pytest

from chalicelib.accounts.passwords import verify_password
from chalicelib.endpoints import interaction
from chalicelib.http.message import FORM, HttpRequest
from chalicelib.stores.models import User
from tests.security.conftest import PASSWORD, Server
from tests.security.test_rate_limit import (
    Addresses,
    addresses,
    assert_limited,
    attempt,
    fail_logins,
    login_page,
    refused_login,
    signs_in,
)
from tests.support.oauth import Browser, action_of, csrf_of, password_hash, tollgate

__all__ = ["addresses"]  # the fixture, shared with test_rate_limit

PAIR, ACCOUNT, SOURCE = 3, 5, 4
THREADS = 12


@pytest.fixture
def server() -> Iterator[Server]:
    # The per-source limit is below the account's, as by default (50 < 100).
    limits = {
        "login_limit_account_ip": PAIR,
        "login_limit_account": ACCOUNT,
        "login_limit_ip": SOURCE,
    }
    with tollgate(**limits) as (deps, clock, http):
        deps.store.users.create(User(username="bob", sub="sub-bob", password_hash=password_hash()))
        yield Server(deps, clock, http)


# -- SECURITY.md item 30: counted before the check --------------------------------------------


def test_parallel_wrong_passwords_are_checked_at_most_the_limit(
    server: Server, addresses: Addresses, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SECURITY.md 30: 12 wrong passwords for alice at once from one address, every check
    held open until all 12 have been answered (a slow argon2 check): at most PAIR (3) are
    checked; the rest are refused with 429 before any hash."""
    addresses.use("203.0.113.7")
    browser = server.browser()
    page = login_page(server, browser)
    path = urlsplit(action_of(page.text)).path  # /interaction/<id>/login
    body = urlencode({"csrf": csrf_of(page.text), "username": "alice", "password": "wrong"})
    request = HttpRequest(
        method="POST",
        path=path,
        headers={
            "cookie": "; ".join(f"{k}={v}" for k, v in browser.cookies.items()),
            "content-type": FORM,
        },
        body=body.encode(),
        source_ip="203.0.113.7",
    )
    interaction_id = path.split("/")[-2]
    checking = threading.Semaphore(0)
    release = threading.Event()
    checks: list[str] = []
    lock = threading.Lock()

    def slow_check(stored_hash: str, password: str) -> bool:
        with lock:
            checks.append(password)
        checking.release()  # counts as answered: this one is in its check
        release.wait(timeout=60)
        return verify_password(stored_hash, password)

    monkeypatch.setattr(interaction, "verify_password", slow_check)
    start = threading.Barrier(THREADS)
    statuses: list[int] = []

    def contender() -> None:
        start.wait()
        status = interaction.login_post(server.deps, request, interaction_id).status
        with lock:
            statuses.append(status)
        if status != 400:
            checking.release()

    threads = [threading.Thread(target=contender) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for _ in range(THREADS):
        assert checking.acquire(timeout=60)
    release.set()
    for thread in threads:
        thread.join(timeout=60)

    assert 1 <= len(checks) <= PAIR, checks
    assert sorted(statuses) == [400] * len(checks) + [429] * (THREADS - len(checks))
    assert_limited(refused_login(server), "15 minutes")


# -- SECURITY.md item 32: no targeted lockout --------------------------------------------------


def own_browser(server: Server, username: str = "alice") -> Browser:
    """The user's own browser, which has signed in to the account before; that session has
    ended since (signed out, expired), so it must sign in again."""
    browser = server.browser()
    answer = attempt(browser, login_page(server, browser), username)
    assert answer.status == 303, answer.text
    session = [name for name in browser.cookies if "session" in name]
    assert session
    for name in session:
        del browser.cookies[name]
    return browser


def strangers_use_up_the_account_limit(
    server: Server, addresses: Addresses, username: str = "alice"
) -> None:
    for host in range(ACCOUNT):
        addresses.use(f"198.51.100.{host}")
        fail_logins(server, username, 1)
    addresses.use("192.0.2.99")
    assert_limited(refused_login(server, username), "15 minutes")  # a new browser waits


def test_an_attacker_at_the_account_limit_cannot_stop_the_user_in_a_known_browser(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 32: the account-wide limit (5 here) is used up by strangers; alice, in
    the browser she signed in with before, still signs in, from a new address too."""
    addresses.use("192.0.2.10")
    browser = own_browser(server)
    strangers_use_up_the_account_limit(server, addresses)

    addresses.use("192.0.2.11")
    answer = attempt(browser, login_page(server, browser), "Alice")  # case-mapped (item 38)
    assert answer.status == 303, (answer.status, answer.text)


def test_the_device_cookie_is_private_and_bound_to_the_account(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 32 (and 8): HttpOnly, Secure, __Host-; a browser that knows alice is a
    stranger to bob, and a copied or altered cookie proves nothing."""
    addresses.use("192.0.2.10")
    browser = own_browser(server, "alice")
    device = next(c for c in signs_in(server).set_cookies if "tollgate-device" in c)
    assert device.startswith("__Host-tollgate-device=")
    for flag in ("HttpOnly", "Secure", "SameSite=Lax", "Path=/"):
        assert flag in device

    strangers_use_up_the_account_limit(server, addresses, "bob")
    assert_limited(attempt(browser, login_page(server, browser), "bob"), "15 minutes")

    forged = server.browser()
    name, value = next((k, v) for k, v in browser.cookies.items() if "device" in k)
    forged.cookies[name] = value[:-1] + ("A" if value[-1] != "A" else "B")
    assert attempt(forged, login_page(server, forged), "bob").status == 429


def test_a_known_browser_is_still_held_to_the_limit_per_address(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18 and 32: the device cookie lifts only the account-wide limit: stolen, it
    gives an attacker no more guesses from one address than anyone gets."""
    addresses.use("192.0.2.10")
    browser = own_browser(server)
    page = login_page(server, browser)
    for _ in range(PAIR):
        assert attempt(browser, page, "alice", "wrong password").status == 400
    assert_limited(attempt(browser, login_page(server, browser), "alice"), "15 minutes")


def test_a_56_rotating_through_its_64s_is_one_source(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 32: IPv6 over all accounts is counted per /56: hopping through the /64s
    of one /56 gets SOURCE (4) failures in all, not PAIR (3) per /64, so one /56 cannot
    reach alice's account-wide limit (5) and lock her out, even in a new browser."""
    for net in range(0x100, 0x100 + ACCOUNT):  # 2001:db8:1:100::/56 holds :100: to :1ff:
        addresses.use(f"2001:db8:1:{net:x}::1")
        browser = server.browser()
        answer = attempt(browser, login_page(server, browser), "alice", "wrong password")
        assert answer.status in (400, 429)
    addresses.use("2001:db8:1:1ff::7")
    assert_limited(refused_login(server, "bob"), "15 minutes")  # the /56 is one source

    addresses.use("2001:db8:1:200::1")  # the next /56: another source
    signs_in(server, "bob")
    addresses.use("192.0.2.10")
    signs_in(server, "alice")  # not locked out: the /56 got only 4 of 5 tries


def test_per_account_and_address_stays_per_64(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 32: the tight pair limit still counts each /64 on its own."""
    addresses.use("2001:db8:1:100::1")
    fail_logins(server, "alice", 2)
    addresses.use("2001:db8:1:101::1")
    fail_logins(server, "bob", 1)  # the /56 is at 3 of 4
    addresses.use("2001:db8:1:101::2")
    browser = server.browser()
    assert attempt(browser, login_page(server, browser), "alice", PASSWORD).status == 303
