"""Client changes made with the admin command reach a running server at once: a rotated
secret works on its next request, even where the client is cached (issue 11 item 5)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.admin.cli import main
from chalicelib.deps import Deps
from tests.functional.flows import token
from tests.support.oauth import Browser, basic


def admin(deps: Deps, capsys: pytest.CaptureFixture[str], *argv: str) -> Any:
    code = main(["--json", *argv], store=deps.store)
    out, err = capsys.readouterr()
    assert code == 0, err
    return json.loads(out)


def grant(browser: Browser, client_id: str, secret: str) -> int:
    answer = token(browser, {"grant_type": "client_credentials"}, basic(client_id, secret))
    return answer.status


@pytest.fixture
def machine(deps: Deps, capsys: pytest.CaptureFixture[str]) -> str:
    created = admin(
        deps, capsys, "client", "create", "--name", "Job", "--client-id", "job",
        "--grant-type", "client_credentials", "--scope", "notes:read",
    )  # fmt: skip
    secret: str = created["client_secret"]
    return secret


def test_a_rotated_secret_works_at_once_where_the_client_is_cached(
    deps: Deps, browser: Browser, capsys: pytest.CaptureFixture[str], machine: str
) -> None:
    assert deps.settings.client_cache_ttl > 0
    assert grant(browser, "job", machine) == 200  # the container now caches "job"

    rotated = admin(deps, capsys, "client", "rotate-secret", "job")
    new = rotated["client_secret"]
    assert "works at once" in rotated["old_secret"]
    assert "TOLLGATE_CLIENT_CACHE_TTL" in rotated["old_secret"]

    assert grant(browser, "job", new) == 200  # not refused by the cached copy
    # That request re-read the client, so this container refuses the old secret now.
    assert grant(browser, "job", machine) == 401


def test_the_old_secret_lasts_at_most_the_cache_lifetime(
    deps: Deps, browser: Browser, capsys: pytest.CaptureFixture[str], machine: str, clock: Any
) -> None:
    """What rotate-secret prints: a container that cached the client keeps the old secret
    until its copy expires, and not a second longer."""
    assert grant(browser, "job", machine) == 200
    admin(deps, capsys, "client", "rotate-secret", "job")
    assert grant(browser, "job", machine) == 200  # the cached copy, as the message says
    clock.advance(deps.settings.client_cache_ttl)
    assert grant(browser, "job", machine) == 401


def test_a_failed_check_of_an_uncached_client_reads_it_once(
    deps: Deps, browser: Browser, machine: str
) -> None:
    """The re-read happens only against a cached copy: a wrong secret for a client just read
    from the table costs no second read."""
    reads: list[str] = []
    get = deps.store.clients.get

    def counting(client_id: str) -> Any:
        reads.append(client_id)
        return get(client_id)

    deps.store.clients.get = counting  # type: ignore[method-assign]
    assert grant(browser, "job", "wrong") == 401
    assert reads == ["job"]
