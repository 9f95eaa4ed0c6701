/** Accounts: who a caller is (go-micro's auth.Account) and how a handler finds it. */
import type { Context } from "tsmicro";

export interface Account {
  /** Unique id: a service name or a user id. Carried as the token's `sub`. */
  id: string;
  /** What the account may do; rules grant or deny by scope. @default [] */
  scopes: readonly string[];
  /** Free-form facts about the account, carried in the token. @default {} */
  metadata: Readonly<Record<string, string>>;
}

const ACCOUNT = Symbol.for("tsmicro.auth.account");

/**
 * The verified account of the caller, from the ctx a handler behind `authHandlerWrapper`
 * receives (contexts derived from it with `withTimeout` and the like do not carry it);
 * undefined for public calls made without a token.
 */
export function accountFromContext(ctx: Context): Account | undefined {
  return (ctx as unknown as Record<symbol, Account | undefined>)[ACCOUNT];
}

/** A child context carrying `account`, with `metadata` in place of the parent's. */
export function contextWithAccount(
  ctx: Context,
  account: Account | undefined,
  metadata: Context["metadata"],
): Context {
  return Object.freeze({
    // A getter: the handler context makes its AbortSignal only when someone asks for it.
    get signal() {
      return ctx.signal;
    },
    deadline: ctx.deadline,
    metadata,
    chain: ctx.chain,
    [ACCOUNT]: account,
  });
}
