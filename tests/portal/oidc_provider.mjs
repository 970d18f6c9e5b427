// A real OpenID provider for the sign-in tests: the certified npm package oidc-provider,
// on loopback, with its built-in login form (any password) and grants given without a
// consent page. Configured by one JSON argument:
//   {"port": N, "clients": [{client_id, client_secret, redirect_uris}],
//    "accounts": {"<login>": {"email": ..., "name": ..., "groups": [...]}},
//    "resourcePrefix": "http://.../mcp/"}
// With resourcePrefix it is also an MCP authorization server in its own right: dynamic
// client registration, resource indicators (RFC 8707) for resources under the prefix, whose
// access tokens are JWTs with the resource as audience and scope "mcp", and refresh tokens.
// Prints "READY <issuer>" once it listens. NODE_TOOLS: the node_modules it was installed in.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(`${process.env.NODE_TOOLS}/`);
const { default: Provider, errors } = await import(
  pathToFileURL(require.resolve("oidc-provider")).href
);

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;
const prefix = config.resourcePrefix;
const resourceServers = prefix
  ? {
      registration: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async (ctx, client, oneOf) => oneOf,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (ctx, indicator) => {
          if (!indicator.startsWith(prefix)) throw new errors.InvalidTarget();
          return { scope: "mcp", audience: indicator, accessTokenFormat: "jwt", accessTokenTTL: 600 };
        },
      },
    }
  : {};

const provider = new Provider(issuer, {
  clients: config.clients.map((client) => ({
    grant_types: ["authorization_code"],
    response_types: ["code"],
    token_endpoint_auth_method: "client_secret_basic",
    ...client,
  })),
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups", ...(prefix ? ["offline_access"] : [])],
  async findAccount(ctx, id) {
    const account = accounts[id];
    if (!account) return undefined;
    return {
      accountId: id,
      async claims() {
        return { sub: id, email_verified: true, ...account };
      },
    };
  },
  async loadExistingGrant(ctx) {
    const clientId = ctx.oidc.client.clientId;
    const existing = ctx.oidc.session.grantIdFor(clientId);
    if (existing) return ctx.oidc.provider.Grant.find(existing);
    const grant = new ctx.oidc.provider.Grant({ clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope(prefix ? [...ctx.oidc.requestParamScopes].join(" ") : "openid email profile groups");
    for (const [indicator, server] of Object.entries(ctx.oidc.resourceServers ?? {})) {
      grant.addResourceScope(indicator, server.scope);
    }
    await grant.save();
    return grant;
  },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true }, ...resourceServers },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});
provider.proxy = false;
process.on("SIGTERM", () => process.exit(0));
provider.listen(config.port, "127.0.0.1", () => {
  process.stdout.write(`READY ${issuer}\n`);
});
