import type { IncomingMessage, ServerResponse } from 'node:http';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from 'jose';
import { LoopbackFake } from './loopback-fake.js';

/**
 * A stand-in for a deployment's identity provider (Auth0, Keycloak, ...): it signs RS256
 * access tokens with its own key and publishes the public half at `/.well-known/jwks.json`,
 * recording each fetch of it (the edge should cache, not fetch per request).
 */
export class FakeIdentityProvider extends LoopbackFake<{ path: string }> {
  private keys: { privateKey: CryptoKey; jwk: JWK } | undefined;

  constructor() {
    super('fake identity provider');
  }

  override async start(port = 0): Promise<string> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    this.keys = { privateKey, jwk: { ...(await exportJWK(publicKey)), kid: 'idp-key-1', alg: 'RS256', use: 'sig' } };
    return super.start(port);
  }

  get issuer(): string {
    return this.baseUrl;
  }

  get jwksUrl(): string {
    return `${this.baseUrl}/.well-known/jwks.json`;
  }

  /** The private key as a JWK, so tests in workerd can sign as the provider does. */
  async privateJwk(): Promise<JWK> {
    if (!this.keys) throw new Error('not started');
    return { ...(await exportJWK(this.keys.privateKey)), kid: 'idp-key-1', alg: 'RS256' };
  }

  /** A token as the provider issues one. */
  async sign(claims: Record<string, unknown>): Promise<string> {
    if (!this.keys) throw new Error('not started');
    return new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'idp-key-1' }).sign(this.keys.privateKey);
  }

  protected async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (path === '/__calls') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(this.calls));
      return;
    }
    this.record({ path });
    if (path !== '/.well-known/jwks.json' || !this.keys) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [this.keys.jwk] }));
  }
}
