// An OAuthClientProvider (the TypeScript SDK's client-side OAuth seam) that keeps everything in
// memory and plays the user: redirectToAuthorization() drives the dev provider's login and consent
// forms with plain HTTP requests (tests/provider/flow.mjs) and keeps the authorization code for
// transport.finishAuth(). Plus a fetch wrapper that records what the SDK sent and got back.

import crypto from 'node:crypto';
import { authorizationCodeLogin } from '../provider/flow.mjs';

export class BrowserlessOAuthClient {
  /**
   * @param {object} options
   * @param {string} options.redirectUrl  loopback redirect URI registered for this client; nothing
   *   listens there: the login helper stops at the redirect and reads the code from it
   * @param {string} options.login  user name typed into the dev login form
   * @param {string[]} [options.grantTypes]  grant types asked for at registration
   */
  constructor({ redirectUrl, login, grantTypes = ['authorization_code', 'refresh_token'] }) {
    this.redirectUrlValue = redirectUrl;
    this.login = login;
    this.grantTypes = grantTypes;
    this.savedClientInformation = undefined;
    this.savedTokens = undefined;
    this.savedCodeVerifier = undefined;
    this.expectedState = undefined;
    this.pendingCode = undefined;
    /** Every authorization URL the SDK sent the "user" to, in order. */
    this.authorizationUrls = [];
    /** Every clientInformation the SDK saved (one per dynamic registration). */
    this.registrations = [];
  }

  get redirectUrl() {
    return this.redirectUrlValue;
  }

  get clientMetadata() {
    return {
      client_name: 'push-advisor MCP client test',
      redirect_uris: [this.redirectUrlValue],
      grant_types: this.grantTypes,
      response_types: ['code'],
      token_endpoint_auth_method: 'none',
    };
  }

  state() {
    this.expectedState = crypto.randomBytes(16).toString('base64url');
    return this.expectedState;
  }

  clientInformation() {
    return this.savedClientInformation;
  }

  saveClientInformation(information) {
    this.savedClientInformation = information;
    this.registrations.push(information);
  }

  tokens() {
    return this.savedTokens;
  }

  saveTokens(tokens) {
    this.savedTokens = tokens;
  }

  saveCodeVerifier(verifier) {
    this.savedCodeVerifier = verifier;
  }

  codeVerifier() {
    if (!this.savedCodeVerifier) throw new Error('no PKCE code verifier saved');
    return this.savedCodeVerifier;
  }

  invalidateCredentials(scope) {
    if (scope === 'all' || scope === 'client') this.savedClientInformation = undefined;
    if (scope === 'all' || scope === 'tokens') this.savedTokens = undefined;
    if (scope === 'all' || scope === 'verifier') this.savedCodeVerifier = undefined;
  }

  /** Logs in and consents as `login`, then keeps the code for takeCode(). */
  async redirectToAuthorization(authorizationUrl) {
    this.authorizationUrls.push(new URL(authorizationUrl.href));
    const result = await authorizationCodeLogin({
      authorizeUrl: authorizationUrl.href,
      redirectUri: this.redirectUrlValue,
      login: this.login,
    });
    if (result.error) throw new Error(`authorization failed: ${result.error} ${result.error_description ?? ''}`);
    if (result.state !== this.expectedState) throw new Error('authorization response carries a different state');
    this.pendingCode = result.code;
    /** RFC 9207 `iss` of the last authorization response, for clients that check it. */
    this.lastIssuer = result.iss;
  }

  /** The code of the last authorization, once. */
  takeCode() {
    const code = this.pendingCode;
    this.pendingCode = undefined;
    if (!code) throw new Error('no authorization code: redirectToAuthorization was not called');
    return code;
  }
}

/**
 * Wraps fetch and records method, URL, status and WWW-Authenticate of every exchange (no bodies,
 * no Authorization header: they carry tokens).
 */
export function recordingFetch() {
  const exchanges = [];
  const wrapped = async (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const response = await fetch(input, init);
    const sent = new Headers(init?.headers ?? (input instanceof Request ? input.headers : undefined));
    exchanges.push({
      method,
      url,
      // The MCP request headers only (never Authorization).
      mcpProtocolVersion: sent.get('mcp-protocol-version') ?? undefined,
      mcpMethod: sent.get('mcp-method') ?? undefined,
      mcpName: sent.get('mcp-name') ?? undefined,
      status: response.status,
      wwwAuthenticate: response.headers.get('www-authenticate') ?? undefined,
    });
    return response;
  };
  const summary = () => exchanges
    .map((e) => `${e.method} ${e.url} -> ${e.status}${e.wwwAuthenticate ? ` [WWW-Authenticate: ${e.wwwAuthenticate}]` : ''}`)
    .join('\n');
  return { fetch: wrapped, exchanges, summary };
}

/**
 * The same, keeping the discovery state the TypeScript client v2 asks for, so it can check that
 * the authorization code is redeemed at the authorization server that issued it (SEP-2352).
 */
export class BrowserlessOAuthClientV2 extends BrowserlessOAuthClient {
  saveDiscoveryState(state) {
    this.savedDiscoveryState = state;
  }

  discoveryState() {
    return this.savedDiscoveryState;
  }
}
