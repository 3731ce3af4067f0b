"""SECURITY.md item 19 (and 12): private_key_jwt client authentication at the token endpoint
(RFC 7523 2.2 and 3, OpenID Connect Core 9).

A client assertion's `jti` is single use, also after the request it authenticated succeeded;
an assertion without `aud` or `exp`, or with any other flaw, is invalid_client (401); two
authentication methods at once are invalid_request. A refused assertion writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from chalicelib.protocol.client_assertion import LEEWAY, MAX_LIFETIME
from chalicelib.stores.models import Client
from tests.security.conftest import ISSUER, REDIRECT, SECRET, Server, claims_of, raw_items
from tests.support.assertions import (
    TOKEN_ENDPOINT,
    ClientKey,
    b64,
    claims,
    client_key,
    form,
    jwks,
)
from tests.support.oauth import Answer, basic

EC = client_key("signed-ec")
RSA = client_key("signed-rsa", "RS256")
OTHER = client_key("other-ec")
SOLO = client_key("solo-ec")
MACHINE_SCOPES = ["notes:read"]


def _register(server: Server, client_id: str, keys: list[ClientKey], grants: list[str]) -> None:
    server.deps.store.clients.create(
        Client(
            client_id=client_id,
            name=client_id.title(),
            client_type="confidential",
            auth_method="private_key_jwt",
            redirect_uris=[REDIRECT],
            grant_types=grants,
            scopes=["openid", "profile", *MACHINE_SCOPES],
            jwks=jwks(*keys),
        )
    )


@pytest.fixture
def keyed(server: Server) -> Server:
    """Tollgate with three private_key_jwt clients: "signed" (an EC and an RSA key), "other"
    and "solo" (one EC key each)."""
    _register(server, "signed", [EC, RSA], ["authorization_code", "client_credentials"])
    _register(server, "other", [OTHER], ["client_credentials"])
    _register(server, "solo", [SOLO], ["client_credentials"])
    return server


def now(server: Server) -> int:
    return server.clock.now()


def assertion(
    server: Server, client_id: str = "signed", key: ClientKey = EC, **changes: Any
) -> str:
    return key.sign(claims(client_id, now(server), **changes))


def machine_token(server: Server, signed: str, **fields: str) -> Answer:
    return server.token({"grant_type": "client_credentials", **form(signed, **fields)})


def jti_items(server: Server) -> list[dict[str, Any]]:
    """The replay guard's items (SECURITY.md 19): `JTI#<hash>` / `ASSERTION`."""
    items = raw_items(server.deps)
    return [i for i in items if str(i["pk"]).startswith("JTI#") and i["sk"] == "ASSERTION"]


def assert_ok(answer: Answer) -> dict[str, Any]:
    assert answer.status == 200, (answer.status, answer.text)
    body: dict[str, Any] = answer.json()
    return body


def assert_refused(answer: Answer, error: str = "invalid_client") -> None:
    status = 401 if error == "invalid_client" else 400
    assert answer.status == status, (answer.status, answer.text)
    assert answer.json()["error"] == error, answer.text
    assert answer.headers.get("cache-control") == "no-store"
    # No HTTP Basic was used, so no Basic challenge (RFC 6749 5.2).
    assert "www-authenticate" not in answer.headers


# -- what works ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [EC, RSA], ids=["ES256", "RS256"])
def test_authorization_code_grant_with_an_assertion(keyed: Server, key: ClientKey) -> None:
    flow = keyed.sign_in("signed")
    request = {
        "grant_type": "authorization_code",
        "code": flow.code,
        "redirect_uri": REDIRECT,
        "code_verifier": flow.verifier or "",
    }
    body = assert_ok(keyed.token({**request, **form(assertion(keyed, key=key))}))
    assert claims_of(body["access_token"])["client_id"] == "signed"
    assert claims_of(body["id_token"])["aud"] == "signed"
    assert len(jti_items(keyed)) == 1


def test_client_credentials_grant_with_an_assertion(keyed: Server) -> None:
    body = assert_ok(machine_token(keyed, assertion(keyed, "other", OTHER)))
    token = claims_of(body["access_token"])
    assert (token["sub"], token["client_id"]) == ("other", "other")
    assert body["scope"] == "notes:read"


@pytest.mark.parametrize(
    "aud",
    [TOKEN_ENDPOINT, ISSUER, ["https://elsewhere.example", ISSUER], [TOKEN_ENDPOINT]],
    ids=["token endpoint", "issuer", "list with issuer", "list with token endpoint"],
)
def test_aud_may_name_the_token_endpoint_or_the_issuer(keyed: Server, aud: object) -> None:
    assert_ok(machine_token(keyed, assertion(keyed, aud=aud)))


def test_client_id_may_be_sent_as_well(keyed: Server) -> None:
    assert_ok(machine_token(keyed, assertion(keyed), client_id="signed"))


def test_without_kid_the_clients_only_key_is_used(keyed: Server) -> None:
    signed = SOLO.sign(claims("solo", now(keyed)), kid=None)
    assert_ok(machine_token(keyed, signed))


@pytest.mark.parametrize(
    "exp", [MAX_LIFETIME, MAX_LIFETIME + LEEWAY, 1 - LEEWAY], ids=["max", "max+leeway", "leeway"]
)
def test_exp_limits_that_still_pass(keyed: Server, exp: int) -> None:
    assert_ok(machine_token(keyed, assertion(keyed, exp=now(keyed) + exp)))


def test_iat_and_nbf_within_the_leeway_pass(keyed: Server) -> None:
    t = now(keyed)
    assert_ok(machine_token(keyed, assertion(keyed, iat=t + LEEWAY, nbf=t + LEEWAY)))


def test_new_keys_replace_the_old_ones(keyed: Server) -> None:
    """Key rotation (tollgate client set-jwks): the old key stops working at once."""
    client = keyed.deps.store.clients.get("solo")
    assert client is not None
    client.jwks = jwks(OTHER)
    keyed.deps.store.clients.save(client)
    assert_refused(machine_token(keyed, assertion(keyed, "solo", SOLO)))
    assert_ok(machine_token(keyed, assertion(keyed, "solo", OTHER)))


# -- replay (SECURITY.md 19) -----------------------------------------------------------------


def test_an_assertion_is_single_use_also_after_success(keyed: Server) -> None:
    signed = assertion(keyed)
    assert_ok(machine_token(keyed, signed))
    assert_refused(machine_token(keyed, signed))
    assert len(jti_items(keyed)) == 1


def test_a_jti_is_single_use_in_a_new_assertion(keyed: Server) -> None:
    assert_ok(machine_token(keyed, assertion(keyed, jti="fixed")))
    keyed.clock.advance(5)
    assert_refused(machine_token(keyed, assertion(keyed, jti="fixed", exp=now(keyed) + 100)))


def test_an_assertion_used_for_a_failed_grant_is_spent(keyed: Server) -> None:
    signed = assertion(keyed)
    refused = machine_token(keyed, signed, scope="admin")
    assert refused.status == 400 and refused.json()["error"] == "invalid_scope", refused.text
    assert_refused(machine_token(keyed, signed))


def test_the_jti_is_remembered_while_the_assertion_could_pass(keyed: Server) -> None:
    signed = assertion(keyed, exp=now(keyed) + 10)
    assert_ok(machine_token(keyed, signed))
    keyed.clock.advance(10 + LEEWAY - 1)  # still within exp plus the leeway
    assert_refused(machine_token(keyed, signed))
    (item,) = jti_items(keyed)
    assert item["ttl"] == now(keyed) + 1


def test_jtis_are_per_client(keyed: Server) -> None:
    assert_ok(machine_token(keyed, assertion(keyed, jti="shared")))
    assert_ok(machine_token(keyed, assertion(keyed, "other", OTHER, jti="shared")))


def test_a_refused_assertion_does_not_spend_its_jti(keyed: Server) -> None:
    assert_refused(machine_token(keyed, assertion(keyed, jti="j1", aud="https://x.example")))
    assert jti_items(keyed) == []
    assert_ok(machine_token(keyed, assertion(keyed, jti="j1")))


def test_the_jti_is_stored_only_as_a_hash(keyed: Server) -> None:
    jti = "a-very-recognisable-jti-value"
    assert_ok(machine_token(keyed, assertion(keyed, jti=jti)))
    assert jti not in json.dumps(raw_items(keyed.deps))


# -- refused assertions: invalid_client ------------------------------------------------------


def _hs256(server: Server, secret: bytes, kid: str = "signed-ec") -> str:
    header = b64({"alg": "HS256", "typ": "JWT", "kid": kid})
    body = b64(claims("signed", now(server)))
    mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{b64(mac)}"


def _public_pem() -> bytes:
    public = EC.private.public_key()
    pem: bytes = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _unsigned(server: Server, alg: str, signature: str = "") -> str:
    header = b64({"alg": alg, "kid": "signed-ec"})
    return f"{header}.{b64(claims('signed', now(server)))}.{signature}"


def _der_signature(server: Server) -> str:
    header = b64({"alg": "ES256", "kid": "signed-ec"})
    body = b64(claims("signed", now(server)))
    der = EC.private.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    return f"{header}.{body}.{b64(der)}"


def _tampered(server: Server) -> str:
    header, _, signature = assertion(server).split(".")
    return f"{header}.{b64(claims('signed', now(server), scope='admin'))}.{signature}"


def _embedded_jwk(server: Server) -> str:
    """Signed with another client's key, which the header offers as `jwk`."""
    return OTHER.sign(claims("signed", now(server)), jwk=OTHER.public_jwk(), kid=None)


def _raw_claims(server: Server, exp: str = "", extra: str = "") -> str:
    """Validly signed claims whose JSON text is edited: `exp` as given, members appended."""
    values = claims("signed", now(server), exp="EXP" if exp else now(server) + 60)
    text = json.dumps(values).replace('"EXP"', exp)[:-1] + extra + "}"
    headers = {"kid": "signed-ec"}
    return jwt.api_jws.PyJWS().encode(text.encode(), EC.private, "ES256", headers)


Build = Callable[[Server], str]
T0 = LEEWAY + 1

REFUSED: dict[str, Build] = {
    # claims
    "missing aud": lambda s: assertion(s, aud=None),
    "missing exp": lambda s: assertion(s, exp=None),
    "missing jti": lambda s: assertion(s, jti=None),
    "missing iss": lambda s: assertion(s, iss=None),
    "missing sub": lambda s: assertion(s, sub=None),
    "empty jti": lambda s: assertion(s, jti=""),
    "expired exp": lambda s: assertion(s, exp=now(s) - LEEWAY),
    "far-future exp": lambda s: assertion(s, exp=now(s) + MAX_LIFETIME + LEEWAY + 1),
    "exp a day ahead": lambda s: assertion(s, exp=now(s) + 86400),
    "exp as a string": lambda s: assertion(s, exp=str(now(s) + 60)),
    "exp Infinity": lambda s: _raw_claims(s, exp="Infinity"),
    "exp NaN": lambda s: _raw_claims(s, exp="NaN"),
    "exp 10**400": lambda s: _raw_claims(s, exp="1" + "0" * 400),
    "sub twice": lambda s: _raw_claims(s, extra=', "sub": "other"'),
    "aud twice": lambda s: _raw_claims(s, extra=f', "aud": "{ISSUER}"'),
    "iat in the future": lambda s: assertion(s, iat=now(s) + T0),
    "nbf in the future": lambda s: assertion(s, nbf=now(s) + T0),
    "iss of another client": lambda s: assertion(s, iss="other"),
    "iss the issuer": lambda s: assertion(s, iss=ISSUER),
    "sub of another client": lambda s: assertion(s, sub="web"),
    "aud of another server": lambda s: assertion(s, aud="https://other.example/token"),
    "aud the issuer with a slash": lambda s: assertion(s, aud=ISSUER + "/"),
    "aud another endpoint": lambda s: assertion(s, aud=f"{ISSUER}/authorize"),
    "aud an empty list": lambda s: assertion(s, aud=[]),
    "aud a number": lambda s: assertion(s, aud=1),
    # algorithms and keys
    "alg none": lambda s: _unsigned(s, "none"),
    "alg None with a signature": lambda s: _unsigned(s, "None", "c2ln"),
    "alg NONE": lambda s: _unsigned(s, "NONE", "c2ln"),
    "HS256 with the public key PEM": lambda s: _hs256(s, _public_pem()),
    "HS256 with the public JWK": lambda s: _hs256(s, json.dumps(EC.public_jwk()).encode()),
    "RS256 header on the EC key": lambda s: RSA.sign(claims("signed", now(s)), kid="signed-ec"),
    "ES256 header on the RSA key": lambda s: EC.sign(claims("signed", now(s)), kid="signed-rsa"),
    "PS256 with the RSA key": lambda s: RSA.sign(claims("signed", now(s)), alg="PS256"),
    "DER ES256 signature": _der_signature,
    "tampered payload": _tampered,
    "unknown kid": lambda s: assertion(s, key=ClientKey("nobody", "ES256", EC.private)),
    "no kid with two keys": lambda s: EC.sign(claims("signed", now(s)), kid=None),
    "another client's key": lambda s: OTHER.sign(claims("signed", now(s))),
    "another client's key under our kid": lambda s: OTHER.sign(
        claims("signed", now(s)), kid="signed-ec"
    ),
    "kid as a path": lambda s: EC.sign(claims("signed", now(s)), kid="../../dev/null"),
    # headers that are never honoured, even on an otherwise good assertion
    "jku header": lambda s: EC.sign(claims("signed", now(s)), jku=f"{ISSUER}/jwks.json"),
    "x5u header": lambda s: EC.sign(claims("signed", now(s)), x5u="https://x.example/c.pem"),
    "x5c header": lambda s: EC.sign(claims("signed", now(s)), x5c=["MIIB"]),
    "jwk header": _embedded_jwk,
    "crit header": lambda s: EC.sign(claims("signed", now(s)), crit=["exp"]),
    # not a JWS at all
    "garbage": lambda s: "garbage",
    "two segments": lambda s: ".".join(assertion(s).split(".")[:2]),
    "payload not JSON": lambda s: f"{b64({'alg': 'ES256'})}.{b64(b'not json')}.c2ln",
    "payload a list": lambda s: f"{b64({'alg': 'ES256'})}.{b64(b'[1]')}.c2ln",
    "JWE shape": lambda s: "a.b.c.d.e",
    "JSON serialization": lambda s: json.dumps({"payload": "x", "signature": "y"}),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_flawed_assertions_are_invalid_client(keyed: Server, case: str) -> None:
    signed = REFUSED[case](keyed)
    assert_refused(machine_token(keyed, signed, client_id="signed"))
    assert_refused(machine_token(keyed, signed))  # the client named by the assertion alone
    assert jti_items(keyed) == []  # nothing written


def test_a_sub_naming_another_client_is_judged_as_that_client(keyed: Server) -> None:
    """Without client_id the assertion's sub names the client, whose keys then do not fit."""
    assert_refused(machine_token(keyed, EC.sign(claims("other", now(keyed)))))
    assert_refused(machine_token(keyed, EC.sign(claims("nobody", now(keyed)))))


def test_client_id_must_name_the_assertions_client(keyed: Server) -> None:
    assert_refused(machine_token(keyed, assertion(keyed), client_id="other"))
    assert jti_items(keyed) == []


# -- the request's shape ---------------------------------------------------------------------


def test_wrong_assertion_type_is_invalid_client(keyed: Server) -> None:
    fields = form(assertion(keyed))
    fields["client_assertion_type"] = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer"
    assert_refused(keyed.token({"grant_type": "client_credentials", **fields}))


@pytest.mark.parametrize("missing", ["client_assertion", "client_assertion_type"])
def test_half_an_assertion_is_invalid_request(keyed: Server, missing: str) -> None:
    fields = form(assertion(keyed), client_id="signed")
    del fields[missing]
    assert_refused(keyed.token({"grant_type": "client_credentials", **fields}), "invalid_request")


def test_two_methods_at_once_are_invalid_request(keyed: Server) -> None:
    """SECURITY.md 12: an assertion with HTTP Basic, or with client_secret."""
    request = {"grant_type": "client_credentials", **form(assertion(keyed))}
    with_basic = keyed.token(request, headers={"Authorization": basic("web", SECRET)})
    assert with_basic.status == 400 and with_basic.json()["error"] == "invalid_request"
    with_secret = keyed.token({**request, "client_secret": SECRET})
    assert_refused(with_secret, "invalid_request")
    assert jti_items(keyed) == []


def test_a_repeated_assertion_parameter_is_invalid_request(keyed: Server) -> None:
    fields = list(form(assertion(keyed)).items())
    request = [("grant_type", "client_credentials"), *fields, ("client_assertion", "x.y.z")]
    assert_refused(keyed.token(request), "invalid_request")


def test_a_secret_client_cannot_use_an_assertion(keyed: Server) -> None:
    assert_refused(machine_token(keyed, EC.sign(claims("web", now(keyed)))))


def test_an_assertion_client_cannot_use_other_methods(keyed: Server) -> None:
    request = {"grant_type": "client_credentials"}
    by_basic = keyed.token(request, headers={"Authorization": basic("signed", SECRET)})
    assert by_basic.status == 401 and by_basic.json()["error"] == "invalid_client"
    assert by_basic.headers["www-authenticate"].startswith("Basic ")
    assert_refused(keyed.token({**request, "client_id": "signed", "client_secret": SECRET}))
    assert_refused(keyed.token({**request, "client_id": "signed"}))


# -- discovery -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"]
)
def test_discovery_advertises_private_key_jwt(keyed: Server, path: str) -> None:
    doc = keyed.default_browser.get(path).json()
    assert "private_key_jwt" in doc["token_endpoint_auth_methods_supported"]
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == ["ES256", "RS256"]


def test_pyjwt_really_refuses_these_shapes() -> None:
    """The DER and HS256 cases above fail for the reasons given, not by accident: the same
    bytes in the right form verify."""
    header = b64({"alg": "ES256", "kid": "signed-ec"})
    body = b64({"x": 1})
    der = EC.private.sign(f"{header}.{body}".encode(), ec.ECDSA(hashes.SHA256()))
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    raw = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    good = f"{header}.{body}.{b64(raw)}"
    assert jwt.decode(good, EC.private.public_key(), algorithms=["ES256"]) == {"x": 1}
