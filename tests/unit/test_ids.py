"""SECURITY.md item 40: random identifiers never start with "-" (a command line would read
such an id as an option), and every random id and secret comes from one function."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from chalicelib import ids

DRAWS = 5000  # P(no "-" among 5000 unfiltered first characters) = (63/64)**5000 < 1e-34


@pytest.mark.parametrize("make", [ids.new_id, ids.new_secret], ids=["new_id", "new_secret"])
def test_no_random_id_starts_with_a_dash(make: Callable[[], str]) -> None:
    drawn = [make() for _ in range(DRAWS)]
    assert not [value for value in drawn if value.startswith("-")]
    # "-" is still used inside ids: the alphabet is not narrowed, only the first character.
    assert any("-" in value[1:] for value in drawn)


def test_a_draw_starting_with_a_dash_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    draws: Iterator[str] = iter(["-starts-with-a-dash", "--twice", "kept-as-drawn"])
    asked: list[int | None] = []

    def forced(nbytes: int | None = None) -> str:
        asked.append(nbytes)
        return next(draws)

    monkeypatch.setattr("chalicelib.ids.secrets.token_urlsafe", forced)

    assert ids.new_id() == "kept-as-drawn"
    assert asked == [16, 16, 16]


def test_secrets_and_ids_share_the_one_function(monkeypatch: pytest.MonkeyPatch) -> None:
    draws = iter(["-a", "b", "-c", "d"])
    monkeypatch.setattr("chalicelib.ids.secrets.token_urlsafe", lambda nbytes=None: next(draws))

    assert (ids.new_secret(), ids.new_id()) == ("b", "d")
