"""The records Tollgate keeps, one dataclass per item kind of the table."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Scope policies live apart (scope_policies.py): the authorizer reads them without these classes.
from chalicelib.stores.scope_policies import STRICT

CONFIDENTIAL = "confidential"
PUBLIC = "public"
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
FAPI2 = "fapi2"
PROFILES = (FAPI2,)
# Where a client registration comes from: the operator (the command line), RFC 7591 dynamic
# registration, or a Client ID Metadata Document fetched from its client_id URL.
ADMIN = "admin"
DYNAMIC = "dynamic"
METADATA_DOCUMENT = "metadata_document"


@dataclass
class Client:
    client_id: str
    name: str
    client_type: str  # confidential | public
    auth_method: str  # client_secret_basic | client_secret_post | private_key_jwt | none
    redirect_uris: list[str]
    grant_types: list[str]
    scopes: list[str]
    secret_hash: str | None = None
    created_at: int = 0
    # OIDC Dynamic Client Registration metadata names, kept as the client registered them.
    id_token_signed_response_alg: str = "RS256"  # noqa: S105 (an algorithm name)
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    # A resource server that may introspect every token (RFC 7662 2.1), not only its own.
    may_introspect: bool = False
    # Registered resources (RFC 8707) it may ask for; empty: any registered resource.
    resources: list[str] = field(default_factory=list)
    # private_key_jwt: the client's public keys, a JWK Set (RFC 7517 5; RFC 7591 `jwks`).
    jwks: dict[str, Any] | None = None
    # PKCE is required of every client (OAuth 2.1 4.1.1). False (`--allow-no-pkce`) lets a
    # confidential client leave it out of OpenID Connect requests that send a nonce only.
    pkce_required: bool = True
    # RFC 9449 5.2 `dpop_bound_access_tokens` (`--dpop-required`): every token request must
    # carry a DPoP proof. False: DPoP is the client's choice, request by request.
    dpop_bound_access_tokens: bool = False
    # RFC 9126 6: this client's authorization requests must be pushed (PAR) first.
    require_pushed_authorization_requests: bool = False
    # "fapi2": the FAPI 2.0 Security Profile's rules apply to it (docs/fapi2.md).
    profile: str = ""
    # Every sign-in for this client needs a second factor (`--require-mfa`): acr
    # urn:tollgate:mfa at least, whatever the request's acr_values.
    require_mfa: bool = False
    origin: str = ADMIN  # admin | dynamic | metadata_document
    # RFC 7592: the hash of the registration access token of a dynamic client.
    registration_token_hash: str | None = None
    # A dynamic client registered with an initial access token (else openly: its updates
    # must stay within what open registration allows).
    registered_with_token: bool = False
    # ... and the hash of that initial access token: its trust ends when the token does.
    initial_token_hash: str | None = None
    # A dynamic client never used is deleted then (the record's ttl); cleared at first use.
    unused_expires_at: int | None = None
    # RFC 7591 metadata kept only to be shown back: client_uri, logo_uri, tos_uri,
    # policy_uri, contacts, software_id, software_version, application_type.
    metadata: dict[str, Any] = field(default_factory=dict)
    # SCOPE_POLICIES: strict for clients an operator registers, subset for dynamic ones.
    scope_policy: str = STRICT

    @property
    def is_public(self) -> bool:
        return self.client_type == PUBLIC

    @property
    def is_fapi2(self) -> bool:
        return self.profile == FAPI2

    @property
    def verified(self) -> bool:
        """Registered by the operator; not by whoever called /register or hosts a document."""
        return self.origin == ADMIN


@dataclass
class Resource:
    """A resource server (an API, an MCP server) that tokens are issued for (RFC 8707)."""

    uri: str  # its resource indicator: the `aud` of its tokens
    name: str
    scopes: list[str]  # the scopes it defines: the only ones its tokens carry
    created_at: int = 0
    # Its access tokens' lifetime; None: the stage's (never longer, README "Resources").
    token_ttl: int | None = None


@dataclass
class User:
    username: str
    sub: str
    password_hash: str
    disabled: bool = False
    name: str | None = None
    email: str | None = None
    created_at: int = 0
    email_verified: bool = False
    # Further OIDC standard claims (OIDC Core 5.1): given_name, phone_number, address, ...
    claims: dict[str, Any] = field(default_factory=dict)
    updated_at: int = 0
    # Set anew by every disable (stores/accounts.py). Sessions, codes and refresh tokens
    # carry the stamp of the sign-in they come from and are refused once it changed, so
    # enabling the user again revives none of them (SECURITY.md item 27). None until then.
    stamp: str | None = None
    # Every sign-in of this user needs a second factor (`tollgate user require-mfa`).
    mfa_required: bool = False


@dataclass
class Factor:
    """A second factor of a user's: USER#<username> / FACTOR#<factor_id> (stores/factors.py)."""

    factor_id: str
    username: str
    kind: str  # totp | passkey
    created_at: int
    label: str = ""
    last_used_at: int | None = None
    # totp: the secret, AES-GCM sealed (accounts/totp.py), and the last time step accepted:
    # a code is refused unless its step is later (RFC 6238 5.2, replay).
    secret: str | None = None
    last_step: int = 0
    # passkey (WebAuthn): the credential, its COSE public key (base64url), the signature
    # counter and the backup flags (BE/BS) it reported at registration and last use.
    credential_id: str | None = None
    public_key: str | None = None
    sign_count: int = 0
    transports: list[str] = field(default_factory=list)
    backup_eligible: bool = False
    backed_up: bool = False


@dataclass
class Session:
    """A browser's sign-in at Tollgate (single sign-on), keyed by the hash of its cookie."""

    sid_hash: str
    sub: str
    username: str
    auth_time: int
    amr: list[str]
    expires_at: int
    # The session's public name: the ID token's `sid` claim (OIDC Front-Channel Logout 3).
    # Random on its own, so it reveals nothing of the cookie or its hash.
    sid: str = ""
    stamp: str | None = None  # the user's stamp at sign-in (User.stamp)
    # When the person last confirmed it is them on the security page (password again): a
    # change there needs this or auth_time to be recent (SECURITY.md item 70).
    confirmed_at: int = 0
    # Whether that confirmation included a factor's code: one made with the password alone
    # (the user had no factor then) does not count once the user has one (item 72).
    confirmed_with_factor: bool = False
    # An authenticator app being set up on the security page: its secret, sealed.
    pending_totp: str | None = None


@dataclass
class Interaction:
    """A validated authorization request waiting for the person to sign in and consent."""

    interaction_id: str
    client_id: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str
    nonce: str | None
    prompt: list[str]
    max_age: int | None
    login_hint: str | None
    csrf: str
    browser_hash: str
    expires_at: int
    created_at: int
    redirect_uri_sent: bool = True
    sid_hash: str | None = None
    completed_by: str | None = None
    resources: list[str] = field(default_factory=list)
    dpop_jkt: str | None = None  # RFC 9449 10: the code is bound to this key's thumbprint
    code_ttl: int = 0  # the code's lifetime; 0: the deployment's (TOLLGATE_CODE_TTL)
    # OIDC Core 3.1.2.1 acr_values, as understood (accounts/mfa.py): the level asked for.
    acr_values: list[str] = field(default_factory=list)
    # Second step (accounts/mfa.py): the user whose password was right (or whose session
    # needs a step-up) and who must now give a second factor, and what it proved so far.
    mfa_username: str | None = None
    mfa_amr: list[str] = field(default_factory=list)
    # A TOTP secret being enrolled, sealed; it becomes a factor once a code from it is right.
    pending_totp: str | None = None
    # The WebAuthn challenge of this sign-in's passkey forms (SECURITY.md item 66): made
    # with the interaction, replaced when used, so showing a page again writes nothing.
    passkey_challenge: str | None = None


@dataclass
class PushedRequest:
    """An authorization request pushed to /par (RFC 9126), kept under the hash of its
    request_uri until it is used once at /authorize or expires."""

    handle_hash: str
    client_id: str
    params: dict[str, list[str]]
    expires_at: int
    consumed_by: str | None = None


@dataclass
class AuthorizationCode:
    code_hash: str
    client_id: str
    redirect_uri: str
    code_challenge: str
    scopes: list[str]
    sub: str
    grant_id: str
    auth_time: int
    expires_at: int
    nonce: str | None = None
    sid: str | None = None
    amr: list[str] = field(default_factory=list)
    consumed_by: str | None = None
    resources: list[str] = field(default_factory=list)
    # Whose sign-in issued it: redeeming checks in the same transaction that this user is
    # still enabled (SECURITY.md item 27). None on codes issued before usernames were kept.
    username: str | None = None
    stamp: str | None = None  # the user's stamp at sign-in (User.stamp)
    dpop_jkt: str | None = None  # RFC 9449 10: only a proof with this key redeems it


@dataclass
class RefreshToken:
    """A refresh token, stored under its hash; every use rotates it (RFC 9700 4.14.2)."""

    token_hash: str
    grant_id: str
    client_id: str
    sub: str
    scopes: list[str]
    issued_at: int
    expires_at: int
    auth_time: int
    sid: str | None = None
    amr: list[str] = field(default_factory=list)
    consumed_by: str | None = None
    consumed_at: int | None = None
    successor_hash: str | None = None
    resources: list[str] = field(default_factory=list)
    username: str | None = None  # as AuthorizationCode.username: rotating checks the user
    stamp: str | None = None  # as AuthorizationCode.stamp
    # A public client's token is bound to the DPoP key it was issued with (RFC 9449 5).
    dpop_jkt: str | None = None


@dataclass
class Grant:
    """One user's authorization of one client: codes and tokens belong to it."""

    grant_id: str
    sub: str
    client_id: str
    scopes: list[str]
    created_at: int
    revoked_at: int | None = None
    revoked_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


@dataclass
class Consent:
    sub: str
    client_id: str
    scopes: list[str]
    granted_at: int


@dataclass
class SigningKey:
    kid: str
    alg: str
    public_jwk: dict[str, Any]
    private_pem: str  # local mode only; empty in the envelope and kms modes
    state: str  # next | active | retired
    created_at: int
    # envelope mode: the PKCS#8 PEM encrypted by KMS (base64 of the ciphertext blob).
    private_ciphertext: str | None = None
    # envelope mode: the KMS key that encrypted it; kms mode: the KMS key that signs.
    kms_key_id: str | None = None
    activated_at: int | None = None
    retired_at: int | None = None
