import type { Context } from "../context.js";
import { Code, MicroError } from "../errors.js";

/** Refuses a call or stream that would nest deeper than `maxCallDepth`, naming the chain (508). */
export function checkDepth(ctx: Context, service: string, what: string, maxCallDepth: number): void {
  if (ctx.chain.length < maxCallDepth) return;
  throw new MicroError({
    id: service,
    code: Code.LoopDetected,
    detail: `${what} refused: chain depth ${ctx.chain.length} reached maxCallDepth ${maxCallDepth}: ${ctx.chain.join(" -> ")}`,
    chain: ctx.chain,
    retryable: false,
  });
}
