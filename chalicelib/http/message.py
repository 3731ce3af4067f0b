"""Framework-free request and response objects that endpoints take and return."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from chalicelib.errors import InvalidRequest

# Made once: json.dumps with options builds a new encoder on every call.
_COMPACT = json.JSONEncoder(separators=(",", ":"))

MAX_BODY = 64 * 1024
FORM = "application/x-www-form-urlencoded"


@dataclass(frozen=True)
class HttpRequest:
    method: str
    path: str
    query: dict[str, list[str]] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    source_ip: str = ""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in (self.header("cookie") or "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep and name not in jar:
                jar[name] = value
        return jar

    def form(self) -> dict[str, list[str]]:
        """The urlencoded body: UTF-8, at most MAX_BODY bytes, of the form content type."""
        if self.content_type != FORM:
            raise InvalidRequest(
                "Content-Type must be application/x-www-form-urlencoded",
                f"content type {self.content_type!r}",
            )
        if len(self.body) > MAX_BODY:
            raise InvalidRequest("request body too large", f"{len(self.body)} bytes")
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidRequest("request body is not UTF-8") from None
        try:
            return parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=100)
        except ValueError:
            raise InvalidRequest("too many parameters") from None


@dataclass
class HttpResponse:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    cookies: list[str] = field(default_factory=list)

    @classmethod
    def json(
        cls, payload: object, status: int = 200, headers: dict[str, str] | None = None
    ) -> HttpResponse:
        merged = {"Content-Type": "application/json"}
        merged.update(headers or {})
        return cls(status, merged, _COMPACT.encode(payload))

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> HttpResponse:
        return cls(status, {"Location": location, "Cache-Control": "no-store"})
