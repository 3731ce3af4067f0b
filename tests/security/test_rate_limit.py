"""SECURITY.md item 18: "Brute force: repeated failed client authentications or logins are
rate-limited per client / per account and per source address, with a clear error and no
lockout of others." (RFC 6749 10.10, credentials-guessing attacks)

The limits are set low here (chalicelib/accounts/rate_limit.py has the defaults and why)
so that few argon2 verifications run. The source address is what API Gateway reports as
`requestContext.identity.sourceIp`; chalice.test fills it from LambdaEventConverter's
LOCAL_SOURCE_IP, which `Addresses` switches per request.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.local import LambdaEventConverter

from chalicelib.accounts import rate_limit
from chalicelib.accounts.passwords import verify_password
from chalicelib.endpoints import interaction
from chalicelib.settings import Settings, SettingsError, load_settings
from chalicelib.stores.models import User
from chalicelib.stores.table import Item, StoreUnavailable, Table
from tests.security.conftest import (
    PASSWORD,
    REDIRECT,
    SECRET,
    Server,
    auth_params,
    client_auth,
    raw_items,
)
from tests.support.oauth import Answer, Browser, action_of, csrf_of, password_hash, tollgate

LIMITS: dict[str, int] = {
    "login_limit_account_ip": 3,
    "login_limit_account": 5,
    "login_limit_ip": 6,
    "client_auth_limit_client_ip": 3,
    "client_auth_limit_client": 5,
    "client_auth_limit_ip": 6,
}
LOGIN_WINDOW = Settings.login_window  # 900 s; the fake clock starts on a window boundary
CLIENT_WINDOW = Settings.client_auth_window  # 300 s
A, B, C = "203.0.113.7", "198.51.100.23", "192.0.2.200"


@pytest.fixture
def server() -> Iterator[Server]:
    with tollgate(**LIMITS) as (deps, clock, http):
        deps.store.users.create(
            User(username="bob", sub="sub-bob", password_hash=password_hash(), name="Bob")
        )
        yield Server(deps, clock, http)


class Addresses:
    """Sets the source address of the requests that follow."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self._monkeypatch = monkeypatch

    def use(self, address: str) -> None:
        self._monkeypatch.setattr(LambdaEventConverter, "LOCAL_SOURCE_IP", address)


@pytest.fixture
def addresses(monkeypatch: pytest.MonkeyPatch) -> Addresses:
    return Addresses(monkeypatch)


@pytest.fixture
def password_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the login endpoint verifies, in order."""
    checked: list[str] = []

    def counting(stored_hash: str, password: str) -> bool:
        checked.append(password)
        return verify_password(stored_hash, password)

    monkeypatch.setattr(interaction, "verify_password", counting)
    return checked


# -- logins -----------------------------------------------------------------------------------


def login_page(server: Server, browser: Browser) -> Answer:
    answer = server.authorize(browser, auth_params())
    assert answer.location is not None and answer.location.endswith("/login"), answer.location
    page = browser.follow(answer)
    assert page.status == 200, page.text
    return page


def attempt(browser: Browser, page: Answer, username: str, password: str = PASSWORD) -> Answer:
    form = {"csrf": csrf_of(page.text), "username": username, "password": password}
    return browser.post_form(action_of(page.text), form)


def fail_logins(server: Server, username: str, times: int) -> None:
    browser = server.browser()
    page = login_page(server, browser)
    for _ in range(times):
        answer = attempt(browser, page, username, "wrong password")
        assert answer.status == 400, (answer.status, answer.text)
        assert "Wrong username or password." in answer.text


def signs_in(server: Server, username: str = "alice") -> Answer:
    """A fresh browser signs in with the right password: 303 onwards, a session cookie."""
    browser = server.browser()
    answer = attempt(browser, login_page(server, browser), username)
    assert answer.status == 303, (answer.status, answer.text)
    assert any("session" in cookie for cookie in answer.set_cookies)
    return answer


def assert_limited(answer: Answer, wait: str) -> None:
    """The login page again, 429, with the clear message and Retry-After; not signed in."""
    assert answer.status == 429, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("text/html")
    assert f"Too many attempts. Try again in {wait}." in answer.text
    assert 'name="password"' in answer.text  # the form, to try again later
    assert answer.location is None
    assert not any("session" in cookie for cookie in answer.set_cookies)
    assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]  # item 7


def refused_login(server: Server, username: str = "alice") -> Answer:
    browser = server.browser()
    return attempt(browser, login_page(server, browser), username)


def test_failed_logins_block_the_account_from_that_address_even_with_the_right_password(
    server: Server, addresses: Addresses, password_checks: list[str]
) -> None:
    """SECURITY.md 18: after the limit, the right password is refused too, unchecked."""
    addresses.use(A)
    fail_logins(server, "alice", LIMITS["login_limit_account_ip"])
    assert len(password_checks) == 3

    answer = refused_login(server)

    assert_limited(answer, "15 minutes")
    assert answer.headers["retry-after"] == str(LOGIN_WINDOW)
    assert len(password_checks) == 3  # no argon2 for a blocked attempt
    assert 'value="alice"' in answer.text


def test_the_account_still_signs_in_from_another_address(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18, no lockout of others: an attacker hammering alice's account from one
    address does not lock alice out of her own."""
    addresses.use(A)
    fail_logins(server, "alice", LIMITS["login_limit_account_ip"])
    assert refused_login(server).status == 429

    addresses.use(B)
    signs_in(server)


def test_other_accounts_sign_in_from_that_address_until_its_own_limit(
    server: Server, addresses: Addresses, password_checks: list[str]
) -> None:
    """SECURITY.md 18, per source address: one blocked account does not block the address;
    failures for any accounts (unknown ones too) add up to the per-address limit."""
    addresses.use(A)
    fail_logins(server, "alice", 3)  # alice is blocked at A
    signs_in(server, "bob")
    fail_logins(server, "mallory", 2)  # no such user: counted all the same
    signs_in(server, "bob")  # 5 failures from A: under the per-address limit of 6
    fail_logins(server, "bob", 1)
    checked = len(password_checks)

    assert_limited(refused_login(server, "bob"), "15 minutes")
    assert_limited(refused_login(server, "carol"), "15 minutes")
    assert len(password_checks) == checked

    addresses.use(B)
    signs_in(server, "bob")
    signs_in(server, "alice")


def test_the_per_account_limit_counts_over_all_addresses(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18, per account: an attacker rotating addresses gets the looser overall
    limit of guesses per account (5 here), then the account waits out the window."""
    for address in (A, A, B, B, C):
        addresses.use(address)
        fail_logins(server, "alice", 1)

    addresses.use("2001:db8::1")
    assert_limited(refused_login(server), "15 minutes")
    signs_in(server, "bob")  # other accounts are not affected


def test_the_next_window_starts_afresh(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18: the block lasts until the window ends, and says how long that is."""
    addresses.use(A)
    fail_logins(server, "alice", 3)
    server.clock.advance(10 * 60 + 1)

    answer = refused_login(server)
    assert_limited(answer, "5 minutes")
    assert answer.headers["retry-after"] == str(LOGIN_WINDOW - 10 * 60 - 1)

    server.clock.advance(LOGIN_WINDOW - 10 * 60 - 1)
    signs_in(server)


def test_successful_logins_do_not_count(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18 counts failures only: more successes than the limit block nobody."""
    addresses.use(A)
    for _ in range(LIMITS["login_limit_account_ip"] + 1):
        signs_in(server)
    fail_logins(server, "alice", 2)  # one below the limit: still a plain wrong password

    signs_in(server)


def test_source_addresses_are_counted_by_their_network() -> None:
    """SECURITY.md 18, per source address: an IPv6 subscriber holds a whole /64, so its
    addresses share one count; an IPv4-mapped address counts as its IPv4 address."""
    assert rate_limit.source("2001:db8:1:2::5") == "2001:db8:1:2::/64"
    assert rate_limit.source("2001:db8:1:2:ffff::1") == "2001:db8:1:2::/64"
    assert rate_limit.source("2001:db8:1:3::5") == "2001:db8:1:3::/64"
    assert rate_limit.source("::ffff:203.0.113.7") == A
    assert rate_limit.source(A) == A
    assert rate_limit.source("") == ""


def test_addresses_of_one_ipv6_network_share_a_limit(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18: hopping between addresses of one /64 does not reset the count."""
    for host in (1, 2, 3):
        addresses.use(f"2001:db8:1:2::{host}")
        fail_logins(server, "alice", 1)

    addresses.use("2001:db8:1:2::99")
    assert refused_login(server).status == 429
    addresses.use("2001:db8:1:3::1")
    signs_in(server)


# -- client authentication at the token endpoint ----------------------------------------------


def token_request(server: Server, client_id: str, secret: str = SECRET) -> Answer:
    """A code redemption whose code is bogus: 400 invalid_grant means authentication passed."""
    headers, fields = client_auth(client_id, secret)
    form = {
        "grant_type": "authorization_code",
        "code": "no-such-code",
        "redirect_uri": REDIRECT,
        "code_verifier": "v" * 43,
        **fields,
    }
    return server.token(form, headers=headers)


def authenticated(answer: Answer) -> bool:
    if answer.status == 400 and answer.json()["error"] == "invalid_grant":
        return True
    assert answer.status == 401, (answer.status, answer.text)
    assert answer.json()["error"] == "invalid_client"
    return False


def assert_client_limited(answer: Answer, retry_after: int = CLIENT_WINDOW) -> None:
    assert answer.status == 429, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.json() == {
        "error": "invalid_client",
        "error_description": "too many failed attempts",
    }
    assert answer.headers["retry-after"] == str(retry_after)
    assert answer.headers["cache-control"] == "no-store"  # item 11 holds for this answer too
    assert answer.headers["pragma"] == "no-cache"
    assert "www-authenticate" not in answer.headers  # not a 401: nothing to retry with


def fail_client(server: Server, client_id: str, times: int) -> None:
    for _ in range(times):
        assert not authenticated(token_request(server, client_id, "wrong-secret"))


def test_wrong_client_secrets_past_the_limit_get_429(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18, per client: client "web"'s failures past the limit are answered 429;
    client "post" from the same address is not affected."""
    addresses.use(A)
    fail_client(server, "web", LIMITS["client_auth_limit_client_ip"])

    assert_client_limited(token_request(server, "web", "wrong-secret"))
    assert authenticated(token_request(server, "post"))


def test_the_right_secret_is_never_locked_out(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18, no lockout of others: a stranger failing in web's name, from web's own
    address even, cannot stop web; its 256-bit secret cannot be guessed anyway."""
    addresses.use(A)
    fail_client(server, "web", LIMITS["client_auth_limit_client_ip"])
    assert_client_limited(token_request(server, "web", "wrong-secret"))

    assert authenticated(token_request(server, "web"))


def test_the_client_still_authenticates_from_another_address(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18, no lockout of others: someone guessing web's secret from A does not
    stop web's real deployment at B."""
    addresses.use(A)
    fail_client(server, "web", 3)
    assert token_request(server, "web", "wrong-secret").status == 429

    addresses.use(B)
    assert not authenticated(token_request(server, "web", "wrong-secret"))  # 401, not 429


def test_the_per_client_limit_counts_over_all_addresses(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18, per client: rotating addresses buys 5 guesses here, not more."""
    for address in (A, A, B, B, C):
        addresses.use(address)
        fail_client(server, "web", 1)

    addresses.use("2001:db8::1")
    assert_client_limited(token_request(server, "web", "wrong-secret"))
    assert authenticated(token_request(server, "web"))
    assert authenticated(token_request(server, "post"))


def test_failures_for_any_clients_count_per_address(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 18, per source address: guessing across clients (unknown ones too) from
    one address is limited; other addresses are not."""
    addresses.use(A)
    fail_client(server, "web", 2)
    fail_client(server, "post", 2)
    fail_client(server, "no-such-client", 2)

    assert_client_limited(token_request(server, "web", "wrong-secret"))
    assert authenticated(token_request(server, "spa"))
    addresses.use(B)
    assert not authenticated(token_request(server, "web", "wrong-secret"))


def test_the_client_limit_ends_with_its_window(server: Server, addresses: Addresses) -> None:
    addresses.use(A)
    fail_client(server, "web", 3)
    server.clock.advance(CLIENT_WINDOW - 1)
    assert_client_limited(token_request(server, "web", "wrong-secret"), retry_after=1)

    server.clock.advance(1)
    assert not authenticated(token_request(server, "web", "wrong-secret"))  # 401 again


def test_successful_client_authentications_do_not_count(
    server: Server, addresses: Addresses
) -> None:
    """A client whose requests fail after authentication (invalid_grant) is not limited."""
    addresses.use(A)
    for _ in range(LIMITS["client_auth_limit_client_ip"] + LIMITS["client_auth_limit_ip"]):
        assert authenticated(token_request(server, "web"))
    fail_client(server, "web", 2)

    assert authenticated(token_request(server, "web"))


# -- what is stored ---------------------------------------------------------------------------


def counters(server: Server) -> list[Item]:
    """The login and client authentication counters (not the pending authorizations')."""
    kinds = ("RATE#login-", "RATE#client-")
    return [item for item in raw_items(server.deps) if str(item["pk"]).startswith(kinds)]


def test_counters_hold_no_username_client_id_or_address(
    server: Server, addresses: Addresses
) -> None:
    """SECURITY.md 18: the counters are keyed by hashes, and live one window (ttl)."""
    addresses.use(A)
    fail_logins(server, "alice", 1)
    fail_client(server, "post", 1)

    stored = counters(server)

    assert len(stored) == 6  # three per attempt: the pair, the subject, the address
    text = json.dumps(stored)
    for clear in ("alice", "post", A, "203.0.113"):
        assert clear not in text
    now = server.clock.now()
    for item in stored:
        assert re.fullmatch(r"RATE#(login|client)-[a-z-]+#[0-9a-f]{64}", item["pk"]), item
        assert item["sk"] == f"W#{now}"
        assert item["count"] == 1
        assert item["ttl"] == now + (LOGIN_WINDOW if "#login-" in item["pk"] else CLIENT_WINDOW)


def test_a_success_leaves_no_count(server: Server, addresses: Addresses) -> None:
    """SECURITY.md 30: a login is counted before its password is checked and a success gives
    the count back; a client's correct credentials write no counter at all."""
    addresses.use(A)
    signs_in(server)
    assert {item["count"] for item in counters(server)} == {0}
    assert len(counters(server)) == 3

    assert authenticated(token_request(server, "web"))
    assert len(counters(server)) == 3


# -- when the counters cannot be read or written ------------------------------------------------


class CountersDown:
    """The table, with its counter reads or writes failing (a throttled DynamoDB)."""

    def __init__(self, table: Table, *, reads: bool, writes: bool) -> None:
        self._table = table
        self._reads = reads
        self._writes = writes

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def get_many(self, keys: list[tuple[str, str]]) -> list[Item | None]:
        if self._reads and any(pk.startswith("RATE#") for pk, _ in keys):
            raise StoreUnavailable("ThrottlingException")
        return self._table.get_many(keys)

    def increment(self, pk: str, sk: str, ttl: int) -> int:
        if self._writes:
            raise StoreUnavailable("ThrottlingException")
        return self._table.increment(pk, sk, ttl)


Outage = Callable[..., None]


@pytest.fixture
def outage(server: Server, monkeypatch: pytest.MonkeyPatch) -> Outage:
    def down(*, reads: bool, writes: bool) -> None:
        counters = server.deps.store.limits  # the failure counters' repository
        broken = CountersDown(counters.table, reads=reads, writes=writes)
        monkeypatch.setattr(counters, "table", broken)

    return down


def assert_unavailable_page(answer: Answer) -> None:
    assert answer.status == 503, (answer.status, answer.text)
    assert answer.headers["content-type"].startswith("text/html")
    assert answer.headers["retry-after"] == "2"
    assert not any("session" in cookie for cookie in answer.set_cookies)


def test_unreadable_counters_fail_closed_at_login(
    server: Server, outage: Outage, password_checks: list[str]
) -> None:
    """SECURITY.md 18 and 25: no check, no password check: 503 with Retry-After, never a
    silent skip of the limit (which would let brute force through during an outage)."""
    browser = server.browser()
    page = login_page(server, browser)
    outage(reads=True, writes=False)

    assert_unavailable_page(attempt(browser, page, "alice"))
    assert password_checks == []


def test_uncountable_login_attempts_fail_closed(
    server: Server, outage: Outage, password_checks: list[str]
) -> None:
    """SECURITY.md 25 and 30: an attempt that cannot be counted is not checked at all (an
    attacker would get uncounted guesses), nor answered as a plain wrong password."""
    browser = server.browser()
    page = login_page(server, browser)
    outage(reads=False, writes=True)

    assert_unavailable_page(attempt(browser, page, "alice", "wrong password"))
    assert password_checks == []


def test_counter_outage_at_the_token_endpoint_is_temporarily_unavailable(
    server: Server, outage: Outage
) -> None:
    """SECURITY.md 18 and 25: a failure that cannot be counted is 503 temporarily_unavailable
    with Retry-After; correct credentials need no counter and still work."""
    outage(reads=True, writes=True)

    answer = token_request(server, "web", "wrong-secret")

    assert answer.status == 503, (answer.status, answer.text)
    assert answer.json()["error"] == "temporarily_unavailable"
    assert answer.headers["retry-after"] == "2"
    assert authenticated(token_request(server, "web"))


# -- settings ---------------------------------------------------------------------------------

BASE = {"TOLLGATE_ISSUER": "https://auth.example.test", "TOLLGATE_TABLE": "t"}


def test_limit_defaults() -> None:
    settings = load_settings(dict(BASE))

    assert (settings.login_window, settings.client_auth_window) == (900, 300)
    assert (
        settings.login_limit_account_ip,
        settings.login_limit_account,
        settings.login_limit_ip,
    ) == (10, 100, 50)
    assert (
        settings.client_auth_limit_client_ip,
        settings.client_auth_limit_client,
        settings.client_auth_limit_ip,
    ) == (20, 200, 100)


def test_limits_are_configurable() -> None:
    env = {
        "TOLLGATE_LOGIN_WINDOW": "600",
        "TOLLGATE_LOGIN_LIMIT_ACCOUNT_IP": "5",
        "TOLLGATE_LOGIN_LIMIT_ACCOUNT": "40",
        "TOLLGATE_LOGIN_LIMIT_IP": "30",
        "TOLLGATE_CLIENT_AUTH_WINDOW": "120",
        "TOLLGATE_CLIENT_AUTH_LIMIT_CLIENT_IP": "7",
        "TOLLGATE_CLIENT_AUTH_LIMIT_CLIENT": "70",
        "TOLLGATE_CLIENT_AUTH_LIMIT_IP": "77",
    }
    settings = load_settings({**BASE, **env})

    assert settings.login_window == 600
    assert settings.login_limit_account_ip == 5
    assert settings.login_limit_account == 40
    assert settings.login_limit_ip == 30
    assert settings.client_auth_window == 120
    assert settings.client_auth_limit_client_ip == 7
    assert settings.client_auth_limit_client == 70
    assert settings.client_auth_limit_ip == 77


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TOLLGATE_LOGIN_LIMIT_ACCOUNT_IP", "0"),
        ("TOLLGATE_CLIENT_AUTH_LIMIT_IP", "many"),
        ("TOLLGATE_LOGIN_WINDOW", "59"),
    ],
)
def test_bad_limits_are_refused(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({**BASE, name: value})


def test_minutes_are_rounded_up() -> None:
    assert [rate_limit.minutes(s) for s in (1, 60, 61, 299, 900)] == [
        "1 minute",
        "1 minute",
        "2 minutes",
        "5 minutes",
        "15 minutes",
    ]
