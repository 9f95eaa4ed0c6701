/**
 * `@tsmicro/auth` at the gateway: the caller's `authorization: Bearer <token>` is verified
 * here, the rules decide which endpoints it may call through the gateway, and the dashboard's
 * data and call form need an account with the dashboard scope.
 */
import type { IncomingMessage } from "node:http";
import { type Account, type Auth, compileRules, type Rule, type RuleChecker } from "@tsmicro/auth";
import { forbidden, isMicroError, unauthorized } from "tsmicro";

export interface GatewayAuthOptions {
  /** Verifies tokens (the public key is enough). */
  auth: Auth;
  /** Which endpoints callers may reach through the gateway, as `authHandlerWrapper`'s rules; none matching denies. */
  rules: readonly Rule[];
  /** Scope an account needs for the dashboard's data (`/_/…`) and the 404 listing of services. @default "admin" */
  dashboardScope?: string;
}

export const DEFAULT_DASHBOARD_SCOPE = "admin";

export interface EdgeAuth {
  /** The caller's verified account; undefined without a token; a 401 for a bad one. */
  authenticate(req: IncomingMessage): Promise<Account | undefined>;
  /** Throws 401/403 when the rules deny `account` the endpoint. */
  authorize(account: Account | undefined, service: string, endpoint: string): void;
  /** Whether `account` may use the dashboard. */
  admin(account: Account | undefined): boolean;
}

export function createEdgeAuth(options: GatewayAuthOptions): EdgeAuth {
  const check: RuleChecker = compileRules(options.rules);
  const scope = options.dashboardScope ?? DEFAULT_DASHBOARD_SCOPE;
  return {
    async authenticate(req) {
      const raw = req.headers.authorization;
      if (raw === undefined) return undefined;
      const token = /^Bearer (\S+)$/i.exec(raw)?.[1];
      if (token === undefined) {
        throw unauthorized("gateway", 'the authorization header is not "Bearer <token>"');
      }
      try {
        return await options.auth.inspect(token);
      } catch (err) {
        throw unauthorized("gateway", isMicroError(err) ? err.detail : "the token cannot be verified");
      }
    },
    authorize(account, service, endpoint) {
      const verdict = check(account, { service, endpoint });
      if (verdict.access === "allow") return;
      const where = `${service}.${endpoint}`;
      if (account === undefined) {
        throw unauthorized("gateway", `call to ${where} refused: it needs a token and none was sent`);
      }
      const by = verdict.rule === undefined ? "no rule allows it" : `rule "${verdict.rule.id}" denies it`;
      throw forbidden("gateway", `call to ${where} by account "${account.id}" refused: ${by}`);
    },
    admin(account) {
      return account?.scopes.includes(scope) === true;
    },
  };
}
