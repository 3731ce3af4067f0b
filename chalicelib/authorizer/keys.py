"""Verification keys (RFC 7517 JWK Sets) for the authorizer, cached per container.

A KeySource answers one question: which public key has this `kid`? The `kid` is only ever a
dictionary key: never a path, a URL or a query (SECURITY.md 21). Keys come from one place
configured by the operator (the issuer's `jwks_uri`, or the signer in-process); `jku`,
`x5u`, `jwk` and `x5c` headers are refused before a key is looked up and never fetched.

    JwksFetcher   the issuer's jwks_uri over HTTPS with urllib (no boto3, no redirects)
    LocalKeys     a Signer's jwks() in the same process (Tollgate's own routes)

Both keep the parsed keys for `max_age` seconds. An unknown `kid` triggers at most one
reload per `min_refetch_interval`, so a stream of random `kid`s cannot turn into a stream
of JWKS fetches (SECURITY.md 22), while a key that was just rotated in is found on the first
token it signed. When a reload fails the keys already held stay in use; with none held, the
answer is AuthorizerUnavailable (never an allow).
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

from chalicelib import json_input
from chalicelib.authorizer.errors import AuthorizerUnavailable
from chalicelib.tokens import jwt_verify

log = logging.getLogger("tollgate.authorizer")

# What a key type must be for each accepted algorithm (RFC 8725 3.1: the key fits the alg).
KEY_TYPES = jwt_verify.KEY_TYPES
MAX_JWKS_BYTES = 64 * 1024
MAX_KEYS = 32
MAX_KID = jwt_verify.MAX_KID
MIN_RSA_BITS = jwt_verify.MIN_RSA_BITS
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


class KeyLoadError(Exception):
    """The JWKS (or the metadata naming it) could not be read or was not acceptable."""


@dataclass(frozen=True)
class PublicKey:
    kid: str
    alg: str  # the one algorithm this key verifies: ES256 for EC P-256, RS256 for RSA
    kty: str
    key: Any  # a `cryptography` public key object
    # verify(signing_input, signature): whether the signature is this key's, by its one
    # algorithm (the Verifier's check, chalicelib/tokens/jwt_verify.py)
    verify: Callable[[bytes, bytes], bool] = field(repr=False, compare=False)


class KeySource(Protocol):
    def get(self, kid: str) -> PublicKey | None:
        """The key with this kid, or None when the issuer does not publish one."""
        ...


def _alg_of(jwk: Mapping[str, Any]) -> str | None:
    """The algorithm a published key verifies, or None for a key the authorizer never uses."""
    kty = jwk.get("kty")
    if jwk.get("use", "sig") != "sig":
        return None
    if kty == "EC" and jwk.get("crv") == "P-256":
        alg = "ES256"
    elif kty == "RSA":
        alg = "RS256"
    else:
        return None  # oct (HMAC) keys and other curves can never verify a token here
    if jwk.get("alg", alg) != alg:
        return None
    return alg


def parse_jwks(doc: object) -> dict[str, PublicKey]:
    """The usable signature keys of a JWK Set, by kid. Unusable keys are skipped; a kid
    published twice is dropped entirely (which of the two was meant is unknowable).
    Each key's verifier is built here, once per load (chalicelib/tokens/jwt_verify.py)."""
    if not isinstance(doc, dict) or not isinstance(doc.get("keys"), list):
        raise KeyLoadError("not a JWK Set")
    entries = doc["keys"]
    if len(entries) > MAX_KEYS:
        raise KeyLoadError(f"JWK Set has {len(entries)} keys (at most {MAX_KEYS})")
    found: dict[str, PublicKey] = {}
    duplicates: set[str] = set()
    for jwk in entries:
        if not isinstance(jwk, dict):
            continue
        kid = jwk.get("kid")
        alg = _alg_of(jwk)
        if not isinstance(kid, str) or not 0 < len(kid) <= MAX_KID or alg is None:
            continue
        try:
            verifier = jwt_verify.verifier(jwk, alg)
        except jwt_verify.KeyRefused as error:
            log.warning("skipping JWK %r: %s", kid, error)
            continue
        if kid in found:
            duplicates.add(kid)
        found[kid] = PublicKey(kid, alg, verifier.kty, verifier.key, verifier.verify)
    for kid in duplicates:
        log.warning("dropping JWK %r: the kid is published twice", kid)
        del found[kid]
    return found


class CachedKeys:
    """A KeySource over any loader of a JWK Set, with the caching rules of the module doc."""

    def __init__(
        self,
        load: Callable[[], object],
        *,
        max_age: float = 300,
        min_refetch_interval: float = 30,
        retry_after_failure: float = 5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._max_age = max_age
        self._min_interval = min_refetch_interval
        self._retry_after_failure = min(retry_after_failure, min_refetch_interval)
        self._clock = clock
        self._lock = threading.Lock()
        self._keys: dict[str, PublicKey] | None = None
        self._loaded_at = 0.0
        self._next_attempt = float("-inf")
        self.loads = 0  # attempts so far (tests and the benchmark read it)

    def get(self, kid: str) -> PublicKey | None:
        # Fresh keys holding the kid: read without the lock (a reload swaps in a new dict).
        keys = self._keys
        if keys is not None and self._clock() - self._loaded_at < self._max_age:
            found = keys.get(kid)
            if found is not None:
                return found
        with self._lock:
            now = self._clock()
            if self._keys is None or now - self._loaded_at >= self._max_age:
                self._reload(now)
            if self._keys is None:
                raise AuthorizerUnavailable("no verification keys could be loaded")
            key = self._keys.get(kid)
            if key is None and self._reload(now):
                key = self._keys.get(kid)
            return key

    def _reload(self, now: float) -> bool:
        """Load the set unless the last attempt was too recent; True when new keys came in."""
        if now < self._next_attempt:
            return False
        self.loads += 1
        try:
            keys = parse_jwks(self._load())
        except Exception as error:  # any failure to read the keys: keep what we have
            self._next_attempt = now + self._retry_after_failure
            log.warning("loading the JWK Set failed: %s", error)
            return False
        self._next_attempt = now + self._min_interval
        self._keys, self._loaded_at = keys, now
        return True


class LocalKeys(CachedKeys):
    """The keys of a Signer in the same process (its jwks()): no HTTP, no discovery."""

    def __init__(
        self,
        jwks: Callable[[], Mapping[str, Any]],
        *,
        max_age: float = 300,
        min_refetch_interval: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            lambda: dict(jwks()),
            max_age=max_age,
            min_refetch_interval=min_refetch_interval,
            clock=clock,
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: the JWKS comes from the configured URL and nowhere else."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def check_url(url: str) -> str:
    """https only (plain http only to a loopback host, for `make run`)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in LOOPBACK:
        return url
    raise KeyLoadError(f"refusing to fetch {url!r}: https only")


def opener(proxies: Mapping[str, str] | None = None) -> urllib.request.OpenerDirector:
    """urllib without redirects; proxies from the environment unless given ({} for none)."""
    proxy = urllib.request.ProxyHandler(None if proxies is None else dict(proxies))
    return urllib.request.build_opener(proxy, _NoRedirects())


def get_json(
    url: str,
    *,
    timeout: float = 3.0,
    max_bytes: int = MAX_JWKS_BYTES,
    via: urllib.request.OpenerDirector | None = None,
) -> object:
    """GET a JSON document with the standard library: no redirects, bounded size and time."""
    via = via or opener()
    request = urllib.request.Request(  # noqa: S310 (scheme checked: https or loopback http)
        check_url(url),
        headers={"Accept": "application/json", "User-Agent": "tollgate-authorizer"},
    )
    try:
        with via.open(request, timeout=timeout) as response:
            if response.status != 200:
                raise KeyLoadError(f"{url}: HTTP {response.status}")
            body = response.read(max_bytes + 1)
    except (urllib.error.URLError, OSError) as error:
        raise KeyLoadError(f"{url}: {error}") from None
    if len(body) > max_bytes:
        raise KeyLoadError(f"{url}: more than {max_bytes} bytes")
    try:
        doc: object = json_input.loads(body)
    except json_input.JsonInputError as error:
        raise KeyLoadError(f"{url}: not acceptable JSON ({error})") from None
    return doc


class JwksFetcher(CachedKeys):
    """The issuer's published keys, fetched over HTTPS.

    The jwks_uri is configured, or read once per container from the issuer's metadata
    (RFC 8414 section 3, whose `issuer` must equal ours exactly).
    """

    def __init__(
        self,
        issuer: str,
        jwks_uri: str | None = None,
        *,
        max_age: float = 300,
        min_refetch_interval: float = 30,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            self._fetch, max_age=max_age, min_refetch_interval=min_refetch_interval, clock=clock
        )
        self.issuer = issuer
        self.jwks_uri = check_url(jwks_uri) if jwks_uri else None
        self._timeout = timeout
        self._opener = opener(proxies)

    def _get(self, url: str) -> object:
        return get_json(url, timeout=self._timeout, via=self._opener)

    def _discover(self) -> str:
        doc = self._get(self.issuer.rstrip("/") + "/.well-known/oauth-authorization-server")
        if not isinstance(doc, dict) or doc.get("issuer") != self.issuer:
            raise KeyLoadError("the metadata's issuer is not ours")
        uri = doc.get("jwks_uri")
        if not isinstance(uri, str):
            raise KeyLoadError("the metadata has no jwks_uri")
        return check_url(uri)

    def _fetch(self) -> object:
        if self.jwks_uri is None:
            self.jwks_uri = self._discover()
        return self._get(self.jwks_uri)
