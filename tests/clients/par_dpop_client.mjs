// oauth4webapi (panva) as a FAPI 2.0-style client of Tollgate: private_key_jwt, a pushed
// authorization request (RFC 9126), DPoP-bound tokens (RFC 9449), a refresh, and calls of the
// demo API through Tollgate's authorizer with a fresh DPoP proof each.
//
// Driven by tests/browser/test_par_dpop_client.py over stdin/stdout, one JSON line each way:
//   -> {"authorize": "<authorization URL: client_id and request_uri only>"}
//   <- "<callback URL>"
//   -> {"token_type": ..., "refreshed_token_type": ..., "api": [status, ...],
//       "replayed": status, "as_bearer": status, ...}
// Settings come as JSON in the PAR_DPOP_CLIENT environment variable (the client's private
// JWK among them). Any refusal by oauth4webapi goes to stderr and the exit status is 1.
import * as oauth from "oauth4webapi";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.env.PAR_DPOP_CLIENT);
// Loopback http only (chalice local); every other check stays on.
const insecure = { [oauth.allowInsecureRequests]: true };

// The last DPoP proof oauth4webapi sent, so that the test can replay it.
let lastProof = null;
const capture = {
  [oauth.customFetch]: (url, options) => {
    const proof = new Headers(options.headers).get("dpop");
    if (proof) lastProof = proof;
    return fetch(url, options);
  },
};

const issuer = new URL(cfg.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oidc" }),
);
if (!as.pushed_authorization_request_endpoint) throw new Error("no PAR endpoint advertised");

const client = { client_id: cfg.client_id };
const { kid, ...jwk } = cfg.private_jwk;
const signingKey = await crypto.subtle.importKey(
  "jwk",
  jwk,
  { name: "ECDSA", namedCurve: "P-256" },
  false,
  ["sign"],
);
// private_key_jwt: oauth4webapi puts the issuer, as a string, in `aud`.
const auth = oauth.PrivateKeyJwt({ key: signingKey, kid });
// DPoP where the server offers it (RFC 9449 5.1); otherwise Bearer tokens.
const dpopOn = Array.isArray(as.dpop_signing_alg_values_supported);
const dpop = dpopOn ? oauth.DPoP(client, await oauth.generateKeyPair("ES256")) : undefined;
const options = dpopOn ? { ...insecure, ...capture, DPoP: dpop } : { ...insecure };

// A server nonce (RFC 9449 8) answers the first try with use_dpop_nonce: oauth4webapi keeps
// the nonce, and the request is made once more.
async function withNonce(request) {
  try {
    return await request();
  } catch (err) {
    if (oauth.isDPoPNonceError(err)) return await request();
    throw err;
  }
}

const verifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const nonce = oauth.generateRandomNonce();
const pushed = await withNonce(async () =>
  oauth.processPushedAuthorizationResponse(
    as,
    client,
    await oauth.pushedAuthorizationRequest(
      as,
      client,
      auth,
      {
        redirect_uri: cfg.redirect_uri,
        response_type: "code",
        scope: cfg.scope,
        state,
        nonce,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: "S256",
      },
      options,
    ),
  ),
);
const url = new URL(as.authorization_endpoint);
url.searchParams.set("client_id", client.client_id);
url.searchParams.set("request_uri", pushed.request_uri);
process.stdout.write(JSON.stringify({ authorize: url.href }) + "\n");

const lines = createInterface({ input: process.stdin });
const callback = new URL((await lines[Symbol.asyncIterator]().next()).value.trim());
lines.close();

// RFC 9207: `iss` must be present and equal to the issuer; state must match.
const params = oauth.validateAuthResponse(as, client, callback, state);
const tokens = await withNonce(async () =>
  oauth.processAuthorizationCodeResponse(
    as,
    client,
    await oauth.authorizationCodeGrantRequest(
      as,
      client,
      auth,
      params,
      cfg.redirect_uri,
      verifier,
      options,
    ),
    { expectedNonce: nonce, requireIdToken: true },
  ),
);
const refreshed = await withNonce(async () =>
  oauth.processRefreshTokenResponse(
    as,
    client,
    await oauth.refreshTokenGrantRequest(as, client, auth, tokens.refresh_token, options),
  ),
);

// The API, through Tollgate's authorizer: each call with its own fresh proof.
const api = new URL(cfg.api);
const statuses = [];
for (let i = 0; i < 2; i++) {
  const answer = await oauth.protectedResourceRequest(
    refreshed.access_token,
    "GET",
    api,
    new Headers(),
    null,
    options,
  );
  statuses.push(answer.status);
}
let replayed = null;
let asBearer = null;
if (dpopOn) {
  replayed = await fetch(api, {
    headers: { authorization: `DPoP ${refreshed.access_token}`, dpop: lastProof },
  });
  asBearer = await fetch(api, {
    headers: { authorization: `Bearer ${refreshed.access_token}` },
  });
}

process.stdout.write(
  JSON.stringify({
    dpop: dpopOn,
    token_type: tokens.token_type,
    refreshed_token_type: refreshed.token_type,
    id_token_sub: oauth.getValidatedIdTokenClaims(tokens).sub,
    api: statuses,
    replayed: replayed?.status,
    replayed_challenge: replayed?.headers.get("www-authenticate"),
    as_bearer: asBearer?.status,
    as_bearer_challenge: asBearer?.headers.get("www-authenticate"),
  }) + "\n",
);
