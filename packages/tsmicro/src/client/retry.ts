/**
 * Whether a failed attempt may be retried. The rule never runs a non-idempotent handler twice:
 * a request that no handler saw (it never left the client, or the server refused it before
 * handling) is always safe to send again; one that reached a server and then failed (an error
 * the handler raised, a timeout, a lost connection) may already have had its effect, so it is
 * sent again only when the endpoint is idempotent. The table is in docs/retries.md.
 */
import type { Context } from "../context.js";
import type { MicroError } from "../errors.js";
import type { Request } from "./request.js";

/**
 * A retry predicate: true to retry (after the usual back-off), a number to retry after that
 * many ms, false to give up. `byDefault` is what the built-in rule decided. It is asked only
 * while retries remain and the deadline has not passed.
 */
export type RetryPredicate = (
  ctx: Context,
  request: Request,
  attempt: number,
  error: MicroError,
  byDefault: boolean,
) => boolean | number;

/** The built-in rule's verdict on `error`; `why` says why not, for the caller's error. */
export function defaultRetry(
  error: MicroError,
  reached: boolean,
  idempotent: boolean,
): { retry: boolean; why?: string } {
  if (!error.retryable) return { retry: false };
  if (!reached || error.refused) return { retry: true };
  if (idempotent) return { retry: true };
  return {
    retry: false,
    why: "not retried: the request reached the server and the endpoint is not idempotent (mark it idempotent in its contract or with the call option idempotent: true)",
  };
}
