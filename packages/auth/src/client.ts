/**
 * The client side: a token source that refreshes ahead of expiry without making calls wait,
 * and a CallWrapper that attaches the token to each call's metadata.
 */
import { type CallWrapper, isMicroError } from "tsmicro";
import type { Account } from "./account.js";
import type { Auth, Token } from "./auth.js";
import { DEFAULT_AUTH_METADATA_KEY, resolveTokenSourceOptions } from "./options.js";

export interface TokenSourceOptions {
  /** Gets a fresh token: from an auth service, or `selfIssued(...)` where this process holds the key. */
  fetch: () => Promise<Token>;
  /**
   * Refresh this long before expiry, so a call sent with the old token still arrives in time;
   * capped at half the token's lifetime. @default 60000
   */
  refreshBeforeMs?: number;
}

export { DEFAULT_REFRESH_BEFORE_MS } from "./options.js";

export interface TokenSource {
  /** A valid token: the cached one (refreshing in the background when it nears expiry) or a fresh one. */
  token(): Promise<string>;
  /** Forgets `accessToken` if it is the cached one (the server said it expired). */
  invalidate(accessToken: string): void;
  /** Tokens fetched so far. */
  readonly refreshes: number;
}

export function createTokenSource(given: TokenSourceOptions): TokenSource {
  const options = resolveTokenSourceOptions(given);
  const before = options.refreshBeforeMs;
  let current: { token: Token; refreshAt: number } | undefined;
  let fetching: Promise<Token> | undefined;
  let refreshes = 0;
  // One fetch at a time, shared by every caller that needs it.
  const refresh = (): Promise<Token> => {
    fetching ??= options.fetch().then(
      (token) => {
        fetching = undefined;
        refreshes++;
        const lifetime = token.expiresAt - Date.now();
        current = { token, refreshAt: token.expiresAt - Math.min(before, lifetime / 2) };
        return token;
      },
      (err: unknown) => {
        fetching = undefined;
        throw err;
      },
    );
    return fetching;
  };
  return {
    async token() {
      const now = Date.now();
      if (current !== undefined && now < current.token.expiresAt) {
        // Nearing expiry: refresh in the background; this call goes with the still-valid token.
        if (now >= current.refreshAt) refresh().catch(() => {});
        return current.token.accessToken;
      }
      return (await refresh()).accessToken;
    },
    invalidate(accessToken) {
      if (current?.token.accessToken === accessToken) current = undefined;
    },
    get refreshes() {
      return refreshes;
    },
  };
}

/** Tokens signed by this process (it holds the private key): for the issuer and for tests. */
export function selfIssued(
  auth: Auth,
  account: Account,
  options: { ttlMs?: number } = {},
): () => Promise<Token> {
  return () => auth.generate(account, options);
}

/**
 * Attaches `authorization: Bearer <token>` to every call. A call refused because its token
 * expired on the way (401 "expired") is sent once more with a fresh token: the server refused
 * it before the handler ran, so the retry cannot run the handler twice.
 */
export function authCallWrapper(source: TokenSource, metadataKey = DEFAULT_AUTH_METADATA_KEY): CallWrapper {
  return (next) => async (ctx, req, opts) => {
    const send = (token: string) =>
      next(ctx, req, { ...opts, metadata: { ...opts.metadata, [metadataKey]: `Bearer ${token}` } });
    const token = await source.token();
    try {
      return await send(token);
    } catch (err) {
      if (!(isMicroError(err) && err.code === 401 && err.detail.includes("expired"))) throw err;
      source.invalidate(token);
      return send(await source.token());
    }
  };
}
