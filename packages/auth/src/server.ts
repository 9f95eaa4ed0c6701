/**
 * The server side: a HandlerWrapper that verifies the caller's token and checks the rules
 * before the handler runs. 401 for a missing or invalid token, 403 for a rule that denies;
 * details name the endpoint and the rule, never the token.
 */
import { forbidden, type HandlerWrapper, isMicroError, unauthorized } from "tsmicro";
import { type Account, contextWithAccount } from "./account.js";
import type { Auth } from "./auth.js";
import { compileRules, type Rule } from "./rules.js";

export interface AuthHandlerOptions {
  /** Verifies tokens (the public key is enough). */
  auth: Auth;
  /** Checked in priority order before each handler; no matching rule denies. */
  rules: readonly Rule[];
  /** Metadata key that carries `Bearer <token>`. @default "authorization" */
  metadataKey?: string;
}

export const DEFAULT_AUTH_METADATA_KEY = "authorization";

export function authHandlerWrapper(options: AuthHandlerOptions): HandlerWrapper {
  const check = compileRules(options.rules);
  const key = options.metadataKey ?? DEFAULT_AUTH_METADATA_KEY;
  return (next) => async (ctx, req) => {
    const where = `${req.service}.${req.endpoint}`;
    const raw = req.metadata[key];
    let account: Account | undefined;
    if (raw !== undefined) {
      const token = /^Bearer (\S+)$/i.exec(raw)?.[1];
      if (token === undefined) {
        throw unauthorized(
          req.service,
          `call to ${where} refused: the "${key}" metadata is not "Bearer <token>"`,
        );
      }
      try {
        account = await options.auth.inspect(token);
      } catch (err) {
        const why = isMicroError(err) ? err.detail : "the token cannot be verified";
        throw unauthorized(req.service, `call to ${where} refused: ${why}`);
      }
    }
    const verdict = check(account, req);
    if (verdict.access === "deny") {
      if (account === undefined) {
        throw unauthorized(req.service, `call to ${where} refused: it needs a token and none was sent`);
      }
      const by = verdict.rule === undefined ? "no rule allows it" : `rule "${verdict.rule.id}" denies it`;
      throw forbidden(req.service, `call to ${where} by account "${account.id}" refused: ${by}`);
    }
    // The handler sees the account, not the caller's token: nested calls must not forward it.
    const { [key]: _token, ...metadata } = req.metadata;
    return next(contextWithAccount(ctx, account, metadata), { ...req, metadata });
  };
}
