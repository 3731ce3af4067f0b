// A strict relying party no one here wrote: oauth4webapi (panva) runs the authorization code
// flow with PKCE, state and nonce against Tollgate, validates the ID token, calls UserInfo,
// and checks the access token as an RFC 9068 resource server for the API it asked for.
//
// Driven by tests/browser/test_strict_client.py over stdin/stdout, one JSON line each way:
//   -> {"authorize": "<authorization URL>"}   the test signs the person in with a browser
//   <- "<callback URL>"                         the URL the browser was sent back to
//   -> {"id_token": {...}, "userinfo": {...}, "api": {...}}
// Settings come as JSON in the STRICT_CLIENT environment variable. Any refusal by
// oauth4webapi is printed to stderr and the exit status is 1.
import * as oauth from "oauth4webapi";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.env.STRICT_CLIENT);
// Loopback http only (chalice local); every other check stays on.
const insecure = { [oauth.allowInsecureRequests]: true };

const issuer = new URL(cfg.issuer);
const as = await oauth.processDiscoveryResponse(
  issuer,
  await oauth.discoveryRequest(issuer, { ...insecure, algorithm: "oidc" }),
);
const client = { client_id: cfg.client_id };
const auth = oauth.ClientSecretBasic(cfg.client_secret);

const verifier = oauth.generateRandomCodeVerifier();
const state = oauth.generateRandomState();
const nonce = oauth.generateRandomNonce();
const url = new URL(as.authorization_endpoint);
url.searchParams.set("client_id", client.client_id);
url.searchParams.set("redirect_uri", cfg.redirect_uri);
url.searchParams.set("response_type", "code");
url.searchParams.set("scope", cfg.scope);
url.searchParams.set("resource", cfg.resource);
url.searchParams.set("state", state);
url.searchParams.set("nonce", nonce);
url.searchParams.set("code_challenge", await oauth.calculatePKCECodeChallenge(verifier));
url.searchParams.set("code_challenge_method", "S256");
process.stdout.write(JSON.stringify({ authorize: url.href }) + "\n");

const lines = createInterface({ input: process.stdin });
const callback = new URL((await lines[Symbol.asyncIterator]().next()).value.trim());
lines.close();

// RFC 9207: `iss` must be present and equal to the issuer; state must match.
const params = oauth.validateAuthResponse(as, client, callback, state);
const tokens = await oauth.processAuthorizationCodeResponse(
  as,
  client,
  await oauth.authorizationCodeGrantRequest(
    as,
    client,
    auth,
    params,
    cfg.redirect_uri,
    verifier,
    insecure,
  ),
  { expectedNonce: nonce, requireIdToken: true },
);
const idToken = oauth.getValidatedIdTokenClaims(tokens);

// UserInfo with the very token the client was given; its sub must be the ID token's.
const userinfo = await oauth.processUserInfoResponse(
  as,
  client,
  idToken.sub,
  await oauth.userInfoRequest(as, client, tokens.access_token, insecure),
);

// The API's side: RFC 9068 validation for the audience it asked for.
const request = new Request(cfg.resource, {
  headers: { authorization: `Bearer ${tokens.access_token}` },
});
const api = await oauth.validateJwtAccessToken(as, request, cfg.resource, insecure);

process.stdout.write(JSON.stringify({ id_token: idToken, userinfo, api }) + "\n");
