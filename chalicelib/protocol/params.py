"""Request parameters (RFC 6749 3.1 and 3.2): each at most once, empty means absent."""

from __future__ import annotations

from chalicelib.errors import InvalidRequest

MAX_VALUE = 4096
# RFC 8707 2: `resource` may appear more than once; every other parameter at most once.
REPEATABLE = frozenset({"resource"})


class Params:
    def __init__(self, raw: dict[str, list[str]]) -> None:
        self._raw = raw

    def duplicates(self) -> list[str]:
        return sorted(
            name for name, values in self._raw.items() if len(values) > 1 and name not in REPEATABLE
        )

    def reject_duplicates(self) -> None:
        dupes = self.duplicates()
        if dupes:
            raise InvalidRequest("parameters must not repeat", f"repeated {dupes}")

    def get(self, name: str) -> str | None:
        """The single value of a parameter; None when absent or empty (RFC 6749 3.1)."""
        values = self._raw.get(name)
        if not values:
            return None
        if len(values) > 1:
            raise InvalidRequest(f"parameter {name} must not repeat")
        value = values[0]
        if len(value) > MAX_VALUE:
            raise InvalidRequest(f"parameter {name} is too long")
        return value or None

    def get_all(self, name: str) -> list[str]:
        """Every non-empty value of a repeatable parameter."""
        values = [v for v in self._raw.get(name, []) if v]
        if any(len(v) > MAX_VALUE for v in values):
            raise InvalidRequest(f"parameter {name} is too long")
        return values

    def require(self, name: str) -> str:
        value = self.get(name)
        if value is None:
            raise InvalidRequest(f"parameter {name} is required")
        return value

    def __contains__(self, name: str) -> bool:
        return bool(self._raw.get(name))
