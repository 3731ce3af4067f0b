"""SECURITY.md item 38: one spelling per account, at creation and at sign-in.

A full-width `alice` and `Alice` are alice; `alice` with a Cyrillic a (U+0430) and `alice` +
U+200B are
refused at creation and name no account at sign-in (the profile: chalicelib/accounts/
usernames.py, tested on its own in tests/unit/test_usernames.py).
"""

from __future__ import annotations

import pytest

from chalicelib.admin.cli import main
from chalicelib.ids import digest
from tests.security.conftest import PASSWORD, Server, auth_params
from tests.support.oauth import Answer, action_of, csrf_of

FULL_WIDTH = "\uff41\uff4c\uff49\uff43\uff45"  # alice, full-width
CYRILLIC = "\u0430lice"  # alice with a Cyrillic a
ZERO_WIDTH = "alice\u200b"


def create(server: Server, capsys: pytest.CaptureFixture[str], username: str) -> tuple[int, str]:
    code = main(["user", "create", username, "--password", PASSWORD], store=server.deps.store)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("spelling", ["Alice", "ALICE", FULL_WIDTH])
def test_another_spelling_of_an_existing_name_is_that_account(
    server: Server, capsys: pytest.CaptureFixture[str], spelling: str
) -> None:
    """SECURITY.md 38: `Alice` cannot be made beside `alice`, nor can a full-width `alice`."""
    code, err = create(server, capsys, spelling)
    assert code == 2
    assert err == "tollgate: a user named 'alice' already exists\n"
    assert [u.username for u in server.deps.store.users.all()] == ["alice"]


@pytest.mark.parametrize("username", [CYRILLIC, ZERO_WIDTH, "al\u00efce", "alice\u202e"])
def test_look_alike_names_are_refused_at_creation(
    server: Server, capsys: pytest.CaptureFixture[str], username: str
) -> None:
    """SECURITY.md 38: mixed-script confusables and invisible characters make no account."""
    code, err = create(server, capsys, username)
    assert code == 2
    assert "refused: a username is" in err
    assert [u.username for u in server.deps.store.users.all()] == ["alice"]


def test_a_new_name_is_stored_as_mapped(server: Server, capsys: pytest.CaptureFixture[str]) -> None:
    assert create(server, capsys, "\uff23arol")[0] == 0  # full-width C
    assert server.deps.store.users.get("carol") is not None
    assert server.deps.store.users.get("\uff23arol") is None


def sign_in_as(server: Server, username: str) -> tuple[Answer, str | None]:
    """The answer, and the username of the session it started (None when none)."""
    browser = server.browser()
    page = browser.follow(server.authorize(browser, auth_params()))
    form = {"csrf": csrf_of(page.text), "username": username, "password": PASSWORD}
    answer = browser.post_form(action_of(page.text), form)
    sid = next((v for k, v in browser.cookies.items() if k.endswith("tollgate-session")), None)
    session = server.deps.store.sessions.get(digest(sid)) if sid else None
    return answer, session.username if session else None


@pytest.mark.parametrize("spelling", ["Alice", "ALICE", FULL_WIDTH, " alice "])
def test_spellings_of_the_name_sign_in_to_the_one_account(server: Server, spelling: str) -> None:
    """SECURITY.md 38: the same mapping at sign-in: these are all alice."""
    answer, signed_in = sign_in_as(server, spelling)
    assert answer.status == 303, answer.text
    assert signed_in == "alice"


@pytest.mark.parametrize("username", [CYRILLIC, ZERO_WIDTH, "alic\u0435"])
def test_look_alikes_sign_in_to_nothing(server: Server, username: str) -> None:
    """SECURITY.md 38: a look-alike of alice with alice's password is a wrong username."""
    answer, signed_in = sign_in_as(server, username)
    assert answer.status == 400
    assert "Wrong username or password." in answer.text
    assert signed_in is None
