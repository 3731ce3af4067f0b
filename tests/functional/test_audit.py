"""Audit events (chalicelib/observability/audit.py): one record per security event, one schema,
never a secret.

The flows below run through the app as a client and a browser would; every log line they
cause is captured exactly as it is written to stdout (tests/support/logs.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from chalice.test import Client as ChaliceClient

from chalicelib.clock import FakeClock
from chalicelib.deps import Deps
from chalicelib.http import cookies
from chalicelib.ids import digest
from chalicelib.observability.audit import SCHEMA
from tests.functional.flows import (
    authorize_path,
    finish,
    submit_consent,
    submit_login,
    to_client,
    token,
)
from tests.functional.revoking import (
    USER_SCOPES,
    add_clients,
    introspected,
    machine_token,
    refresh,
    revoke,
)
from tests.support.logs import Lines, captured
from tests.support.oauth import (
    PASSWORD,
    REDIRECT,
    SECRET,
    Browser,
    basic,
    csrf_of,
    pkce_pair,
    tollgate,
)

ROOT = Path(__file__).resolve().parents[2]
WRONG_PASSWORD = "Tr0ub4dor&3-not-alice"
# What the flows below record, each at least once.
FLOW_EVENTS = {
    "login.failed",
    "login.blocked",
    "login.succeeded",
    "consent.granted",
    "consent.denied",
    "code.issued",
    "code.redeemed",
    "code.replayed",
    "token.issued",
    "refresh.rotated",
    "refresh.reuse_detected",
    "token.revoked",
    "token.introspected",
    "client_auth.failed",
    "session.ended",
}


class Secrets:
    """Every secret value a flow handled: none may appear in any log line, nor its hash."""

    def __init__(self) -> None:
        self.values: set[str] = {PASSWORD, SECRET, WRONG_PASSWORD}

    def add(self, *values: str | None) -> None:
        self.values.update(v for v in values if v)

    def from_browser(self, browser: Browser) -> None:
        self.add(*browser.cookies.values())

    def found_in(self, lines: Lines) -> list[str]:
        text = "\n".join(json.dumps(line) for line in lines.lines)
        hashes = {digest(v) for v in self.values}
        return sorted(v for v in self.values | hashes if v in text)


def _authorize(browser: Browser, secrets: Secrets, **extra: str) -> tuple[Any, str]:
    verifier, challenge = pkce_pair()
    secrets.add(verifier)
    path = authorize_path(client_id="rt", scope=USER_SCOPES, challenge=challenge, **extra)
    return browser.get(path), verifier


def _exchange(browser: Browser, code: str, verifier: str) -> Any:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT,
        "code_verifier": verifier,
    }
    return token(browser, form, basic("rt", SECRET))


@pytest.fixture
def running() -> Iterator[tuple[Deps, FakeClock, ChaliceClient]]:
    with tollgate(login_limit_account_ip=2) as env:
        add_clients(env[0])
        yield env


def run_flows(http: ChaliceClient, clock: FakeClock) -> tuple[Lines, Secrets]:
    """A day in the life: failed, blocked and good sign-ins, consent given and refused,
    codes redeemed and replayed, tokens refreshed, reused, introspected and revoked."""
    secrets = Secrets()
    with captured() as lines:
        # alice mistypes, then signs in and consents.
        browser = Browser(http)
        started, verifier = _authorize(browser, secrets)
        login = browser.follow(started)
        secrets.add(csrf_of(login.text))
        failed = submit_login(browser, login, password=WRONG_PASSWORD)
        answer = submit_login(browser, failed, page_status=400)
        code = to_client(submit_consent(browser, browser.follow(answer)))["code"]
        secrets.from_browser(browser)
        tokens = _exchange(browser, code, verifier).json()
        secrets.add(code, *(tokens[k] for k in ("access_token", "refresh_token", "id_token")))

        # The refresh token rotates; its successor is introspected and revoked.
        rotated = refresh(browser, tokens["refresh_token"]).json()
        secrets.add(rotated["access_token"], rotated["refresh_token"], rotated.get("id_token"))
        assert introspected(browser, rotated["access_token"])["active"] is True
        assert revoke(browser, rotated["access_token"]).status == 200
        # The old refresh token again, after the grace window: reuse.
        clock.advance(120)
        assert refresh(browser, tokens["refresh_token"]).status == 400

        # Single sign-on gives a code at once; it is redeemed, then replayed.
        started, verifier = _authorize(browser, secrets)
        second = to_client(finish(browser, started))["code"]
        again = _exchange(browser, second, verifier)
        secrets.add(second, again.json()["access_token"], again.json()["refresh_token"])
        assert _exchange(browser, second, verifier).status == 400

        # alice refuses a new consent.
        started, _ = _authorize(browser, secrets, prompt="consent")
        denied = to_client(finish(browser, started, decision="deny"))
        assert denied["error"] == "access_denied"

        # A machine client; a wrong client secret.
        secrets.add(machine_token(browser))
        wrong = token(browser, {"grant_type": "client_credentials"}, basic("m2m", "not-" + SECRET))
        assert wrong.status == 401

        # Someone guesses alice's password until blocked (the limit is 2 per address).
        other = Browser(http)
        started, _ = _authorize(other, secrets)
        page = other.follow(started)
        for _ in range(3):
            page = submit_login(other, page, password=WRONG_PASSWORD, page_status=page.status)
        assert page.status == 429
        secrets.from_browser(other)

        # alice signs out from the app (her ID token names her: no confirmation page).
        hint = again.json()["id_token"]
        assert browser.get(f"/logout?id_token_hint={hint}").status == 200
        assert cookies.SESSION not in browser.cookies
    return lines, secrets


def test_every_event_is_recorded_with_the_one_schema(
    running: tuple[Deps, FakeClock, ChaliceClient],
) -> None:
    _deps, clock, http = running
    lines, _ = run_flows(http, clock)
    records = lines.audit()
    assert set(lines.events()) >= FLOW_EVENTS
    for record in records:
        assert set(SCHEMA) <= set(record), record
        assert record["outcome"] in {"success", "failure"}, record
        assert record["source_ip"] is None or isinstance(record["source_ip"], str)


def test_no_log_line_holds_a_secret_token_code_or_password(
    running: tuple[Deps, FakeClock, ChaliceClient],
) -> None:
    _deps, clock, http = running
    lines, secrets = run_flows(http, clock)
    assert len(secrets.values) > 20  # the flows really handled that many secrets
    assert lines.audit(), "no audit record to scan"
    assert secrets.found_in(lines) == []


def test_the_scan_would_see_a_leaked_secret() -> None:
    """The check above can fail: a line holding a secret, or its hash, is caught."""
    secrets = Secrets()
    secrets.add("a-refresh-token-value")
    lines = Lines()
    lines.lines.append({"reason": f"hash {digest('a-refresh-token-value')}"})
    assert secrets.found_in(lines) == [digest("a-refresh-token-value")]


def test_records_name_who_and_what(running: tuple[Deps, FakeClock, ChaliceClient]) -> None:
    _deps, clock, http = running
    lines, _ = run_flows(http, clock)
    (failed, *_more) = lines.audit("login.failed")
    assert (failed["client_id"], failed["sub"], failed["username"]) == ("rt", "sub-alice", "alice")
    assert failed["reason"] == "wrong password"
    (reuse,) = lines.audit("refresh.reuse_detected")
    (redeemed, *_) = lines.audit("code.redeemed")
    assert reuse["grant_id"] == redeemed["grant_id"] and reuse["sub"] == "sub-alice"
    issued = {r["grant_type"] for r in lines.audit("token.issued")}
    assert issued == {"authorization_code", "refresh_token", "client_credentials"}
    (machine,) = [r for r in lines.audit("token.issued") if r["grant_type"] == "client_credentials"]
    assert (machine["client_id"], machine["sub"], machine["grant_id"]) == ("m2m", "m2m", None)
    (auth,) = lines.audit("client_auth.failed")
    assert auth["method"] == "POST"  # the request's; the audit's own is auth_method
    assert (auth["client_id"], auth["reason"], auth["auth_method"]) == (
        "m2m",
        "wrong secret",
        "client_secret_basic",
    )


def test_metrics_count_the_security_events(
    running: tuple[Deps, FakeClock, ChaliceClient],
) -> None:
    _deps, clock, http = running
    lines, _ = run_flows(http, clock)
    totals: dict[str, float] = {}
    for summary in lines.requests():
        for directive in summary["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                name = metric["Name"]
                key = name if name != "TokensIssued" else f"{name}:{summary['GrantType']}"
                totals[key] = totals.get(key, 0) + summary[name]
    # alice's own mistake and one guess fail; the next two guesses are blocked.
    assert totals["LoginFailures"] == len(lines.audit("login.failed")) == 2
    assert totals["LoginsBlocked"] == len(lines.audit("login.blocked")) == 2
    assert totals["RefreshReuse"] == 1
    assert totals["CodeReplays"] == 1
    assert totals["ClientAuthFailures"] == 1
    assert totals["TokensIssued:authorization_code"] == 2
    assert totals["TokensIssued:refresh_token"] == 1
    assert totals["TokensIssued:client_credentials"] == 1


# -- the README's Logs Insights queries -----------------------------------------------------

QUERY = re.compile(r"```logs-insights\n(.*?)```", re.DOTALL)
KEYWORDS = {"fields", "filter", "stats", "sort", "by", "and", "or", "not", "in", "like", "as"}
KEYWORDS |= {"asc", "desc", "limit", "count", "avg", "pct", "sum", "min", "max"}
CONDITION = re.compile(r'(\w+) (=|in) ("[^"]*"|\[[^\]]*\])')


def documented_queries() -> list[str]:
    queries = QUERY.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(queries) >= 2, "the README's queries are gone"
    return queries


def fields_of(query: str) -> set[str]:
    """The record fields a query names: every identifier but keywords, aliases, @-fields,
    strings and numbers."""
    text = re.sub(r'"[^"]*"', " ", query)
    aliases = set(re.findall(r"\bas (\w+)", text))
    names = set(re.findall(r"(?<![@\w])([a-z_]\w*)", text))
    return names - KEYWORDS - aliases


def matches(query: str, record: dict[str, Any]) -> bool:
    """The query's `filter`: its `field = "value"` and `field in [...]` conditions, all of them."""
    for name, operator, value in CONDITION.findall(query):
        wanted = json.loads(value)
        if operator == "=" and record.get(name) != wanted:
            return False
        if operator == "in" and record.get(name) not in wanted:
            return False
    return True


def test_every_documented_query_names_fields_the_records_have(
    running: tuple[Deps, FakeClock, ChaliceClient],
) -> None:
    _deps, clock, http = running
    lines, _ = run_flows(http, clock)
    emitted = {name for line in lines.lines for name in line}
    for query in documented_queries():
        assert fields_of(query) <= emitted, (query, fields_of(query) - emitted)
        if "REFERENCE" not in query:
            # Tried against the flows' records: each query finds something.
            assert any(matches(query, line) for line in lines.lines), query


def test_the_query_check_can_fail() -> None:
    query = 'fields @timestamp, reason\n| filter event = "login.failed" and usrname = "alice"'
    assert fields_of(query) == {"reason", "event", "usrname"}
    assert not matches(query, {"event": "login.failed", "username": "alice"})
