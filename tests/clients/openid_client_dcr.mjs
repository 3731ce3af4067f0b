// openid-client (panva, pinned here) registers itself at Tollgate (RFC 7591, its
// dynamicClientRegistration), runs the code flow with PKCE and `resource` for the MCP
// server, calls one of its tools with the token, and refreshes the token.
//
// Driven by tests/browser/test_openid_client_dcr.py over stdin/stdout, one JSON line each way:
//   -> {"authorize": "<authorization URL>"}   the test signs the person in with a browser
//   <- "<callback URL>"                         the URL the browser was sent back to
//   -> {"client_id": ..., "tool": {...}, "scope": ..., "refreshed": true}
// Settings come as JSON in OIDC_CLIENT: issuer, redirect_uri, resource (the MCP server URL).
import * as client from "openid-client";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.env.OIDC_CLIENT);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
// Loopback http only (chalice local); every other check stays on.
const insecure = { execute: [client.allowInsecureRequests] };

async function tool(accessToken, name, args) {
  const headers = {
    Authorization: `Bearer ${accessToken}`,
    "Content-Type": "application/json",
    Accept: "application/json, text/event-stream",
    "MCP-Protocol-Version": "2025-06-18",
  };
  const call = (id, method, params) => fetch(cfg.resource, {
    method: "POST", headers, body: JSON.stringify({ jsonrpc: "2.0", id, method, params }),
  });
  const init = await call(1, "initialize", {
    protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "openid-client", version: "6" },
  });
  if (init.status !== 200) throw new Error(`initialize: ${init.status}`);
  const answer = await call(2, "tools/call", { name, arguments: args });
  return { status: answer.status, body: await answer.json() };
}

try {
  const config = await client.dynamicClientRegistration(
    new URL(cfg.issuer),
    {
      client_name: "openid-client (dynamic)",
      redirect_uris: [cfg.redirect_uri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    },
    client.None(),
    insecure,
  );
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: cfg.redirect_uri,
    scope: "notes:read notes:write offline_access",
    resource: cfg.resource,
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: "S256",
  });
  process.stdout.write(JSON.stringify({ authorize: url.href }) + "\n");
  const callback = new URL((await lines.next()).value);
  const tokens = await client.authorizationCodeGrant(
    config, callback, { pkceCodeVerifier: verifier, expectedState: state }, { resource: cfg.resource },
  );
  const first = await tool(tokens.access_token, "whoami", {});
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token, { resource: cfg.resource });
  const second = await tool(refreshed.access_token, "whoami", {});
  process.stdout.write(JSON.stringify({
    client_id: config.clientMetadata().client_id,
    first,
    second,
    rotated: refreshed.refresh_token !== tokens.refresh_token && refreshed.access_token !== tokens.access_token,
  }) + "\n");
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n${JSON.stringify(error?.cause ?? {})}\n`);
  process.exit(1);
}
