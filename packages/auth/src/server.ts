/**
 * The server side: a HandlerWrapper that verifies the caller's token and checks the rules
 * before the handler runs. 401 for a missing or invalid token, 403 for a rule that denies;
 * details name the endpoint and the rule, never the token.
 */
import { forbidden, type HandlerWrapper, isMicroError, unauthorized } from "tsmicro";
import { type Account, contextWithAccount } from "./account.js";
import type { Auth } from "./auth.js";
import { compileRules, type Rule, type RuleChecker } from "./rules.js";

export interface AuthHandlerOptions {
  /** Verifies tokens (the public key is enough). */
  auth: Auth;
  /** Checked in priority order before each handler; no matching rule denies. */
  rules: readonly Rule[];
  /** Metadata key that carries `Bearer <token>`. @default "authorization" */
  metadataKey?: string;
}

export const DEFAULT_AUTH_METADATA_KEY = "authorization";

/** What one check needs: the verifier, the compiled rules, the metadata key. */
export interface Gate {
  auth: Auth;
  check: RuleChecker;
  key: string;
}

export function gateOf(options: AuthHandlerOptions): Gate {
  return {
    auth: options.auth,
    check: compileRules(options.rules),
    key: options.metadataKey ?? DEFAULT_AUTH_METADATA_KEY,
  };
}

/**
 * Verifies the token in `metadata` (if any) and checks the rules for `resource`; throws a
 * 401 or 403 whose detail starts with `what` (`call to orders.Orders.list`). Returns the
 * account and the metadata without the token, so the receiver cannot forward it.
 */
export async function admit(
  gate: Gate,
  metadata: Readonly<Record<string, string>>,
  resource: { service: string; endpoint: string },
  what: string,
): Promise<{ account: Account | undefined; metadata: Record<string, string> }> {
  const { key } = gate;
  const raw = metadata[key];
  let account: Account | undefined;
  if (raw !== undefined) {
    const token = /^Bearer (\S+)$/i.exec(raw)?.[1];
    if (token === undefined) {
      throw unauthorized(resource.service, `${what} refused: the "${key}" metadata is not "Bearer <token>"`);
    }
    try {
      account = await gate.auth.inspect(token);
    } catch (err) {
      const why = isMicroError(err) ? err.detail : "the token cannot be verified";
      throw unauthorized(resource.service, `${what} refused: ${why}`);
    }
  }
  const verdict = gate.check(account, resource);
  if (verdict.access === "deny") {
    if (account === undefined) {
      throw unauthorized(resource.service, `${what} refused: it needs a token and none was sent`);
    }
    const by = verdict.rule === undefined ? "no rule allows it" : `rule "${verdict.rule.id}" denies it`;
    throw forbidden(resource.service, `${what} by account "${account.id}" refused: ${by}`);
  }
  const { [key]: _token, ...rest } = metadata;
  return { account, metadata: rest };
}

export function authHandlerWrapper(options: AuthHandlerOptions): HandlerWrapper {
  return gateWrapper(gateOf(options));
}

export function gateWrapper(gate: Gate): HandlerWrapper {
  return (next) => async (ctx, req) => {
    const { account, metadata } = await admit(
      gate,
      req.metadata,
      req,
      `call to ${req.service}.${req.endpoint}`,
    );
    // The handler sees the account, not the caller's token: nested calls must not forward it.
    return next(contextWithAccount(ctx, account, metadata), { ...req, metadata });
  };
}
