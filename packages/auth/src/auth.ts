/**
 * Tokens: an account signed into a JWT (jose; EdDSA or ES256) and verified back. The issuer
 * holds the private key; every other service holds only the public key and verifies.
 */
import { randomUUID } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import { unauthorized } from "tsmicro";
import type { Account } from "./account.js";
import type { Algorithm, Key } from "./keys.js";
import { resolveAuthOptions } from "./options.js";

export interface AuthOptions {
  algorithm: Algorithm;
  /** Verifies tokens. */
  publicKey: Key;
  /** Signs tokens; only the issuer has it. @default undefined (verify only) */
  privateKey?: Key;
  /** `iss` claim set and required. @default "tsmicro" */
  issuer?: string;
  /** `aud` claim set and required, e.g. the deployment's name. @default "tsmicro" */
  audience?: string;
  /** Lifetime of a generated token. @default 900000 (15 minutes) */
  tokenTtlMs?: number;
  /** Clock difference tolerated between issuer and verifier. @default 5 */
  clockToleranceSec?: number;
  /** Verified tokens remembered (until they expire) to spare a signature check per call. @default 1024 */
  cacheSize?: number;
}

export {
  DEFAULT_AUDIENCE,
  DEFAULT_CLOCK_TOLERANCE_SEC,
  DEFAULT_ISSUER,
  DEFAULT_TOKEN_CACHE_SIZE,
  DEFAULT_TOKEN_TTL_MS,
} from "./options.js";

export interface Token {
  /** The JWT, sent as `authorization: Bearer <token>`. */
  accessToken: string;
  /** Epoch milliseconds. */
  expiresAt: number;
}

export interface Auth {
  readonly options: Readonly<Required<Omit<AuthOptions, "privateKey">>> & { privateKey?: Key };
  /** Signs a token for `account` (go-micro's Generate + Token). Needs the private key. */
  generate(account: Account, options?: { ttlMs?: number }): Promise<Token>;
  /** Verifies a token and returns its account; a MicroError 401 saying why otherwise (never quoting the token). */
  inspect(accessToken: string): Promise<Account>;
}

export function createAuth(options: AuthOptions): Auth {
  const o = resolveAuthOptions(options);
  // Insertion-ordered: the oldest entry goes first when full.
  const cache = new Map<string, { account: Account; expiresAt: number }>();
  return {
    options: o,
    async generate(account, opts = {}) {
      if (o.privateKey === undefined) {
        throw new TypeError("auth.generate needs the private key: this Auth only verifies");
      }
      const ttlMs = opts.ttlMs ?? o.tokenTtlMs;
      const now = Date.now();
      // JWT times are whole seconds; round expiry down so the token never outlives ttlMs.
      const exp = Math.floor((now + ttlMs) / 1000);
      const accessToken = await new SignJWT({ scope: account.scopes.join(" "), md: account.metadata })
        .setProtectedHeader({ alg: o.algorithm, typ: "JWT" })
        .setSubject(account.id)
        .setIssuer(o.issuer)
        .setAudience(o.audience)
        .setIssuedAt(Math.floor(now / 1000))
        .setExpirationTime(exp)
        .setJti(randomUUID())
        .sign(o.privateKey);
      return { accessToken, expiresAt: exp * 1000 };
    },
    async inspect(accessToken) {
      const now = Date.now();
      const hit = cache.get(accessToken);
      if (hit !== undefined && hit.expiresAt > now) return hit.account;
      if (hit !== undefined) cache.delete(accessToken);
      let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
      try {
        ({ payload } = await jwtVerify(accessToken, o.publicKey, {
          algorithms: [o.algorithm],
          issuer: o.issuer,
          audience: o.audience,
          clockTolerance: o.clockToleranceSec,
        }));
      } catch (err) {
        throw unauthorized("auth", `invalid token: ${reason(err)}`);
      }
      const account = toAccount(payload);
      if (account === undefined || payload.exp === undefined) {
        throw unauthorized("auth", "invalid token: it lacks a subject, scopes or an expiry");
      }
      if (cache.size >= o.cacheSize) cache.delete(cache.keys().next().value as string);
      cache.set(accessToken, { account, expiresAt: payload.exp * 1000 });
      return account;
    },
  };
}

/** Why jose refused a token, in words that never include the token. */
function reason(err: unknown): string {
  if (err instanceof joseErrors.JWTExpired) return "it has expired";
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) return "its signature does not verify";
  if (err instanceof joseErrors.JWTClaimValidationFailed) return `its "${err.claim}" claim is not accepted`;
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return "it is signed with an algorithm not allowed here";
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) return "it is malformed";
  return "it cannot be verified";
}

function toAccount(p: Record<string, unknown>): Account | undefined {
  if (typeof p.sub !== "string" || typeof p.scope !== "string") return undefined;
  const md = p.md;
  const metadata: Record<string, string> = {};
  if (typeof md === "object" && md !== null) {
    for (const [k, v] of Object.entries(md)) if (typeof v === "string") metadata[k] = v;
  }
  return Object.freeze({
    id: p.sub,
    scopes: Object.freeze(p.scope.split(" ").filter((s) => s.length > 0)),
    metadata: Object.freeze(metadata),
  });
}
