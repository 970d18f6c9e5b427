// A real OpenID provider for the sign-in tests: the certified npm package oidc-provider,
// on loopback, with its built-in login form (any password) and grants given without a
// consent page. Configured by one JSON argument:
//   {"port": N, "clients": [{client_id, client_secret, redirect_uris}],
//    "accounts": {"<login>": {"email": ..., "name": ..., "groups": [...]}}}
// Prints "READY <issuer>" once it listens. NODE_TOOLS: the node_modules it was installed in.
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";

const require = createRequire(`${process.env.NODE_TOOLS}/`);
const { default: Provider } = await import(pathToFileURL(require.resolve("oidc-provider")).href);

const config = JSON.parse(process.argv[2]);
const issuer = `http://127.0.0.1:${config.port}`;
const accounts = config.accounts;

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
  scopes: ["openid", "email", "profile", "groups"],
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
    grant.addOIDCScope("openid email profile groups");
    await grant.save();
    return grant;
  },
  pkce: { required: () => true },
  cookies: { keys: ["test-only-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  ttl: { Session: 3600, Interaction: 600, Grant: 3600, AccessToken: 600, AuthorizationCode: 60, IdToken: 600 },
});
provider.proxy = false;
process.on("SIGTERM", () => process.exit(0));
provider.listen(config.port, "127.0.0.1", () => {
  process.stdout.write(`READY ${issuer}\n`);
});
