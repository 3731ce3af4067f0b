// The MCP TypeScript SDK's own OAuth client (@modelcontextprotocol/sdk, pinned here) against
// examples/mcp-server, whose tokens Tollgate's authorizer validates. Given only the MCP
// server's URL, it discovers Tollgate (RFC 9728, RFC 8414), registers or uses the client it
// is given, authorizes with PKCE and `resource`, calls tools, and refreshes its token.
//
// Driven by tests/browser/test_mcp_typescript_sdk.py over stdin/stdout, one JSON line each way:
//   -> {"authorize": "<authorization URL>"}   the test signs the person in with a browser
//   <- "<callback URL>"                         the URL the browser was sent back to
//   -> {"seen": [...], "first": {...}, "refresh": {...}}
// Settings come as JSON in MCP_CLIENT: server (the MCP URL), redirect_uri, and client_id
// for a pre-registered client or client_metadata_url for a Client ID Metadata Document
// (neither: dynamic registration). Failures go to stderr, exit 1.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { createInterface } from "node:readline";

const cfg = JSON.parse(process.env.MCP_CLIENT);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const seen = [];
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  const url = new URL(input instanceof Request ? input.url : input);
  seen.push(`${init?.method ?? (input instanceof Request ? input.method : "GET")} ${url.origin}${url.pathname}`);
  return realFetch(input, init);
};

const store = {
  client: cfg.client_id ? { client_id: cfg.client_id } : undefined,
  tokens: undefined,
  verifier: undefined,
  authorize: undefined,
};
const provider = {
  clientMetadataUrl: cfg.client_metadata_url,
  get redirectUrl() {
    return cfg.redirect_uri;
  },
  get clientMetadata() {
    return {
      client_name: "Tollgate test host (TypeScript)",
      redirect_uris: [cfg.redirect_uri],
      grant_types: ["authorization_code", "refresh_token"],
      response_types: ["code"],
      token_endpoint_auth_method: "none",
    };
  },
  clientInformation: () => store.client,
  saveClientInformation: (info) => {
    store.client = info;
  },
  tokens: () => store.tokens,
  saveTokens: (tokens) => {
    store.tokens = tokens;
  },
  redirectToAuthorization: (url) => {
    store.authorize = url;
  },
  saveCodeVerifier: (verifier) => {
    store.verifier = verifier;
  },
  codeVerifier: () => store.verifier,
};

async function session(note) {
  const client = new Client({ name: "tollgate-test", version: "1.0.0" });
  await client.connect(new StreamableHTTPClientTransport(new URL(cfg.server), { authProvider: provider }));
  const who = await client.callTool({ name: "whoami", arguments: {} });
  const added = await client.callTool({ name: "add_note", arguments: { text: note } });
  const listed = await client.callTool({ name: "list_notes", arguments: {} });
  await client.close();
  return { whoami: who.structuredContent, added: added.isError ?? false, listed: listed.structuredContent };
}

try {
  const transport = new StreamableHTTPClientTransport(new URL(cfg.server), { authProvider: provider });
  try {
    await new Client({ name: "tollgate-test", version: "1.0.0" }).connect(transport);
    throw new Error("connected without authorization");
  } catch (error) {
    if (!store.authorize) throw error;
  }
  process.stdout.write(JSON.stringify({ authorize: store.authorize.href }) + "\n");
  const callback = new URL((await lines.next()).value);
  await transport.finishAuth(callback.searchParams.get("code"));
  const label = store.client.client_id;
  const notes = [`${label}: first note`, `${label}: second note`];
  const first = await session(notes[0]);
  const firstTokens = { ...store.tokens };
  const firstSeen = [...seen];
  // The access token runs out: the server's 401 makes the SDK refresh, with no browser.
  store.tokens = { ...store.tokens, access_token: "expired" };
  seen.length = 0;
  const second = await session(notes[1]);
  const refreshed = store.tokens.access_token !== firstTokens.access_token
    && store.tokens.access_token !== "expired"
    && store.tokens.refresh_token !== firstTokens.refresh_token;
  process.stdout.write(JSON.stringify({
    client_id: store.client.client_id, notes, first, firstSeen, second, secondSeen: seen, refreshed,
  }) + "\n");
  process.exit(0);
} catch (error) {
  process.stderr.write(`${error?.stack ?? error}\n`);
  process.exit(1);
}
