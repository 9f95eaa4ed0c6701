/**
 * Context: what travels with a call, as Go's context.Context — cancellation (`signal`),
 * the deadline, metadata and the call chain. Contexts are immutable; the `with*` functions
 * derive children.
 */
import { cancelled, timeout } from "./errors.js";
import { linkSignal, NEVER, startTimer, stopTimer } from "./util/deadline.js";

/** Key-value pairs that travel with a call (keys lower-cased, as HTTP headers). */
export type Metadata = Readonly<Record<string, string>>;

/** What travels with a call: cancellation, deadline, metadata and chain (Go's context.Context). */
export interface Context {
  /** Aborts when the caller cancels or the deadline passes; `signal.reason` is a MicroError. */
  readonly signal: AbortSignal;
  /** Epoch milliseconds after which the work is pointless; undefined means no deadline. */
  readonly deadline: number | undefined;
  readonly metadata: Metadata;
  /** Hops so far, oldest first: `service.endpoint@node`. Empty outside a handler. */
  readonly chain: readonly string[];
}

const EMPTY: Metadata = Object.freeze({});
const BACKGROUND: Context = Object.freeze({ signal: NEVER, deadline: undefined, metadata: EMPTY, chain: [] });

/** The root context: no deadline, never cancelled, no metadata (Go's context.Background()). */
export function background(): Context {
  return BACKGROUND;
}

/** Milliseconds left before the context's deadline; Infinity without one; never negative. */
export function remainingMs(ctx: Context, now = Date.now()): number {
  return ctx.deadline === undefined ? Number.POSITIVE_INFINITY : Math.max(0, ctx.deadline - now);
}

/** A child whose deadline is the earlier of the parent's and now + `ms`. */
export function withTimeout(parent: Context, ms: number): Context {
  const deadline = Math.min(parent.deadline ?? Number.POSITIVE_INFINITY, Date.now() + Math.max(0, ms));
  return withDeadline(parent, deadline);
}

/** A child that ends at the epoch-millisecond `deadline` (or the parent's, if earlier). */
export function withDeadline(parent: Context, deadline: number): Context {
  const effective = Math.min(deadline, parent.deadline ?? Number.POSITIVE_INFINITY);
  const controller = new AbortController();
  const unlink = linkSignal(parent.signal, controller);
  const delay = effective - Date.now();
  if (delay <= 0) {
    controller.abort(timeout("tsmicro", "context deadline exceeded"));
  } else if (!controller.signal.aborted) {
    // unref: a forgotten context must not keep the process alive. A deadline beyond the
    // timer limit (~24.8 days) is chained; an infinite one sets no timer.
    const timer = startTimer(
      () => controller.abort(timeout("tsmicro", `context deadline exceeded after ${Math.round(delay)} ms`)),
      delay,
      true,
    );
    controller.signal.addEventListener(
      "abort",
      () => {
        stopTimer(timer);
        unlink();
      },
      { once: true },
    );
  }
  return derive(parent, {
    signal: controller.signal,
    deadline: effective === Number.POSITIVE_INFINITY ? undefined : effective,
  });
}

/** A child and the function that cancels it (and everything derived from it). */
export function withCancel(parent: Context): [Context, (reason?: string) => void] {
  const controller = new AbortController();
  const unlink = linkSignal(parent.signal, controller);
  const cancel = (reason = "context cancelled") => {
    unlink();
    if (!controller.signal.aborted) controller.abort(cancelled("tsmicro", reason));
  };
  return [derive(parent, { signal: controller.signal }), cancel];
}

/** A child whose metadata is the parent's merged with `md` (keys lower-cased, as HTTP headers). */
export function withMetadata(parent: Context, md: Record<string, string>): Context {
  const merged: Record<string, string> = { ...parent.metadata };
  for (const [k, v] of Object.entries(md)) {
    // Assigning "__proto__" would set the prototype, not an entry: refuse it, as the wire does.
    if (k === "__proto__") throw new TypeError('withMetadata: "__proto__" is not a valid metadata key');
    merged[k.toLowerCase()] = String(v);
  }
  return derive(parent, { metadata: Object.freeze(merged) });
}

/** A child with some fields replaced. Reads the parent's fields explicitly: a context may be a class with getters. */
function derive(parent: Context, changes: Partial<Context>): Context {
  return Object.freeze({
    signal: changes.signal ?? parent.signal,
    deadline: "deadline" in changes ? changes.deadline : parent.deadline,
    metadata: changes.metadata ?? parent.metadata,
    chain: changes.chain ?? parent.chain,
  });
}

/** A context built from its parts, e.g. by a subscriber for each message. */
export function createContext(init: {
  signal: AbortSignal;
  deadline: number | undefined;
  metadata: Metadata;
  chain: readonly string[];
}): Context {
  return Object.freeze({ ...init });
}
