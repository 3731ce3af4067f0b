"""What the lean AWS client takes from its environment without botocore: the credentials
botocore's EnvProvider would read, and the CA bundle botocore would verify TLS with."""

from __future__ import annotations

import pytest
from botocore.credentials import EnvProvider
from botocore.exceptions import PartialCredentialsError
from botocore.httpsession import get_cert_path

from chalicelib.stores import aws_json

NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_CREDENTIAL_EXPIRATION",
)


@pytest.mark.parametrize(
    "env",
    [
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s"},
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": "t"},
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SECURITY_TOKEN": "o"},
        # botocore prefers the older name when both are set.
        {
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_SECURITY_TOKEN": "o",
            "AWS_SESSION_TOKEN": "t",
        },
        {"AWS_ACCESS_KEY_ID": "AKID", "AWS_SECRET_ACCESS_KEY": "s", "AWS_SESSION_TOKEN": ""},
        # Expiring credentials are botocore's own, refreshed as it refreshes them.
        {
            "AWS_ACCESS_KEY_ID": "AKID",
            "AWS_SECRET_ACCESS_KEY": "s",
            "AWS_SESSION_TOKEN": "t",
            "AWS_CREDENTIAL_EXPIRATION": "2099-01-01T00:00:00Z",
        },
    ],
)
def test_the_environment_s_credentials_are_botocore_s(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    found = aws_json._credentials().get_frozen_credentials()
    loaded = EnvProvider().load()
    assert loaded is not None
    expected = loaded.get_frozen_credentials()
    assert (found.access_key, found.secret_key, found.token) == (
        expected.access_key,
        expected.secret_key,
        expected.token,
    )
    expiring = "AWS_CREDENTIAL_EXPIRATION" in env
    assert isinstance(aws_json._credentials(), aws_json.EnvCredentials) is not expiring


def test_a_key_without_its_secret_is_botocore_s_error(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in NAMES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKID")
    with pytest.raises(PartialCredentialsError):
        aws_json._credentials()


@pytest.mark.parametrize("given", [None, "/etc/ssl/certs/ca-certificates.crt"])
def test_tls_is_verified_with_botocore_s_bundle(
    monkeypatch: pytest.MonkeyPatch, given: str | None
) -> None:
    if given is None:
        monkeypatch.delenv("AWS_CA_BUNDLE", raising=False)
        expected = get_cert_path(True)
    else:
        monkeypatch.setenv("AWS_CA_BUNDLE", given)
        expected = given
    assert aws_json.ca_bundle() == expected
    client = aws_json.AwsJsonClient(aws_json.Protocol("kms", "T.", "x"), "eu-west-1")
    assert client.endpoint == "https://kms.eu-west-1.amazonaws.com"
