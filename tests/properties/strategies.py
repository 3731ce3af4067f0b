"""Hypothesis strategies for bad input, and the one judgement every property test applies.

The classes (issues 10 and 17): arbitrary bytes, Unicode of every category, control
characters, percent-encodings (of invalid UTF-8 and of surrogates too), nesting, huge and
non-finite numbers, lone surrogates in JSON escapes, duplicated parameters, over-long ids,
and JWS whose segments are mutated one by one (SECURITY.md 29 and 34).
"""

from __future__ import annotations

import base64
import json
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

from tests.functional.flows import Unchanged
from tests.support.oauth import Answer

# -- text and bytes ----------------------------------------------------------------------------

CONTROL = st.characters(min_codepoint=0, max_codepoint=0x1F) | st.sampled_from("\x7f\x85\u2028")
UNICODE = st.characters(exclude_categories=["Cs"])  # a str a client can send encoded
LONG_IDS = st.sampled_from(["c" * 256, "c" * 3000, "é" * 1100, "-" * 300, "x" * 4097])


def text() -> st.SearchStrategy[str]:
    """Values a parameter might hold: short, odd, long, or over the limits."""
    return st.one_of(
        st.text(UNICODE, max_size=40),
        st.text(CONTROL | st.sampled_from("%&=+;:/?#[]@!$'()*,\\\"<> "), max_size=20),
        LONG_IDS,
        st.sampled_from(["web", "spa", "post", "pkj", "alice", "openid", "code", "S256"]),
    )


def encoded(value: str | bytes) -> str:
    """Percent-encoded as a form or query would carry it (bytes: even invalid UTF-8)."""
    raw = value if isinstance(value, bytes) else value.encode("utf-8")
    return quote_from_bytes(raw, safe="")


RAW_ESCAPES = st.sampled_from(
    ["%ED%A0%80", "%FF%FE", "%C0%AF", "%E2%80%AE", "%00", "%0D%0A", "%", "%zz", "%u00e9"]
)


def pairs(names: list[str]) -> st.SearchStrategy[list[tuple[str, str]]]:
    """Parameters as encoded (name, value) pairs: known names (some repeated) and others."""
    name = st.sampled_from(names).map(encoded) | st.text(UNICODE, max_size=10).map(encoded)
    value = (
        text().map(encoded) | st.binary(max_size=30).map(encoded) | RAW_ESCAPES | jws().map(encoded)
    )
    return st.lists(st.tuples(name, value), max_size=12)


def query(names: list[str]) -> st.SearchStrategy[str]:
    return pairs(names).map(lambda found: "&".join(f"{k}={v}" for k, v in found))


def form_body(names: list[str]) -> st.SearchStrategy[bytes]:
    return query(names).map(str.encode) | st.binary(max_size=200)


CONTENT_TYPES = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-8",
        "application/json",
        "text/plain",
        "multipart/form-data; boundary=x",
        "",
    ]
)

# -- JSON and JWS ----------------------------------------------------------------------------

JSON_FRAGMENTS = st.sampled_from(
    [
        "[" * 1500,
        '{"a":' * 40 + "1" + "}" * 40,
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        str(2**64),
        "9" * 5000,
        '"\\ud800"',
        '"a\\udc00b"',
        '"\\u0000"',
        "true",
        "null",
        '"x"',
        "[]",
        "{}",
    ]
)


def json_text() -> st.SearchStrategy[str]:
    """JSON objects that hold an odd value, duplicate members, or are not JSON at all."""
    member = st.sampled_from(["alg", "typ", "kid", "iss", "sub", "aud", "exp", "iat", "nbf", "jti"])
    scalar = JSON_FRAGMENTS | st.text(UNICODE, max_size=10).map(json.dumps)
    obj = st.lists(st.tuples(member, scalar), max_size=6).map(
        lambda found: "{" + ",".join(f'"{k}":{v}' for k, v in found) + "}"
    )
    return obj | JSON_FRAGMENTS | st.text(UNICODE, max_size=20)


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def segment() -> st.SearchStrategy[str]:
    """One JWS segment: encoded JSON, encoded bytes, padded, or not base64url at all."""
    good = json_text().map(lambda t: b64url(t.encode("utf-8", "surrogatepass")))
    return st.one_of(
        good,
        good.map(lambda s: s + "=="),
        st.binary(max_size=40).map(b64url),
        st.text(st.sampled_from("ABCabc019-_=+/.%"), max_size=12),
        st.just(""),
    )


def jws() -> st.SearchStrategy[str]:
    """A compact JWS of three segments, or sometimes another number of them."""
    three = st.tuples(segment(), segment(), segment()).map(".".join)
    return three | three | st.lists(segment(), min_size=1, max_size=5).map(".".join)


def mutated(token: str) -> st.SearchStrategy[str]:
    """A real token with one segment replaced, padded or respelled."""
    parts = token.split(".")

    def replace(index: int, value: str) -> str:
        return ".".join([*parts[:index], value, *parts[index + 1 :]])

    return st.one_of(
        st.tuples(st.integers(0, 2), segment()).map(lambda found: replace(*found)),
        st.sampled_from(["=", "==", "%3D", ".", "=.="]).map(lambda pad: token + pad),
        st.integers(0, 2).map(lambda i: replace(i, parts[i] + "==")),
        jws(),
    )


# -- headers -----------------------------------------------------------------------------------


def basic_header() -> st.SearchStrategy[str]:
    """Basic credentials: of arbitrary bytes, of over-long ids, or with non-ASCII in them."""
    ids = text() | LONG_IDS
    of_text = st.tuples(ids, text()).map(lambda p: f"{encoded(p[0])}:{encoded(p[1])}".encode())
    raw = st.binary(max_size=60) | of_text
    return st.one_of(
        raw.map(lambda b: "Basic " + base64.b64encode(b).decode()),
        st.text(UNICODE, max_size=20).map(lambda t: "Basic " + t),
        st.text(UNICODE, max_size=20),
    )


# -- the judgement -----------------------------------------------------------------------------


def judge(answer: Answer, unchanged: Unchanged) -> None:
    """Never a 5xx, never a stack trace or a framework's own error body, only ASCII in the
    headers; a refused request changes no stored state."""
    assert answer.status < 500, (answer.status, answer.body[:300])
    body = answer.body.decode("utf-8", "replace")
    for leak in ("Traceback", 'File "', '"Code":', "MethodNotAllowed", "UnsupportedMediaType"):
        assert leak not in body, (answer.status, body[:300])
    for name, value in answer.headers.items():
        assert value.isascii() and value.isprintable(), (name, value)
    if answer.status >= 400 or "error=" in (answer.location or ""):
        unchanged.check()
    else:
        unchanged.mark()
