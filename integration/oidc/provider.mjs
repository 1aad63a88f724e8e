// A real OpenID Connect provider (the OpenID-certified npm `oidc-provider`) for the llm_auth
// integration tests: it issues client-credentials access tokens as RS256 JWTs for the
// resource `urn:llm-gateway`, with `roles` and `tier` claims per client.
//
// Usage: PORT=8082 ISSUER=http://localhost:8082 node provider.mjs
// Prints "ready <issuer>" on stdout once listening. Test use only: the signing key is
// generated per run and the client secrets below are public.
import { generateKeyPairSync } from 'node:crypto';
import Provider, { errors } from 'oidc-provider';

const port = Number(process.env.PORT || 8082);
const issuer = process.env.ISSUER || `http://localhost:${port}`;
const resource = 'urn:llm-gateway';

// client_id → claims added to its access tokens.
const clientClaims = {
  'svc-standard': { roles: ['service'], tier: 'standard' },
  'svc-premium': { roles: ['premium'], tier: 'premium' },
};

const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'test-rs256', alg: 'RS256', use: 'sig' };

const provider = new Provider(issuer, {
  clients: Object.keys(clientClaims).map((id) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    scope: 'llm:chat llm:embeddings llm:messages llm:models',
    token_endpoint_auth_method: 'client_secret_basic',
  })),
  scopes: ['openid', 'llm:chat', 'llm:embeddings', 'llm:messages', 'llm:models'],
  jwks: { keys: [jwk] },
  cookies: { keys: ['test-only-cookie-key'] },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new errors.InvalidTarget();
        return {
          scope: 'llm:chat llm:embeddings llm:messages llm:models',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        };
      },
    },
  },
  extraTokenClaims: (ctx, token) => clientClaims[token.clientId] || {},
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
