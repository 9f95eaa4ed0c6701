/**
 * Hedged requests: when a call has no answer after `delayMs`, the same request goes to another
 * node as well, and the first answer wins; the other legs are cancelled, and their servers'
 * handlers see `ctx.signal` abort. Only idempotent calls are hedged (the request runs on more
 * than one node), and only calls routed by the selector (a fixed `address` has no other node).
 *
 * Each leg is a whole call (its own attempt, retries and in-flight record) on the one deadline
 * the call started with. Nothing is shared between legs but the set of nodes they picked, so
 * no leg waits for another.
 */
import { cancelled, MicroError } from "../errors.js";
import { linkSignal, noop } from "../util/deadline.js";

/** What a leg is told (attempt.ts's AttemptHooks, by shape: options.ts imports this file). */
interface LegHooks {
  readonly avoid?: ReadonlySet<string>;
  onNode?(node: { readonly id: string }): void;
}

/** The call options hedging reads and sets (CallOptions', by shape). */
interface LegOptions {
  idempotent?: boolean;
  address?: string | readonly string[];
  hedge?: HedgeOptions | false;
  signal?: AbortSignal;
  requestTimeoutMs?: number;
}

/** Options of hedging (`hedge: { delayMs: 50 }` on the client or on a call). */
export interface HedgeOptions {
  /** Wait this long for an answer before sending the request to another node too, ms. */
  delayMs: number;
  /** Hedges sent at most on top of the first attempt, each `delayMs` after the previous one. @default 1 */
  max?: number;
}

export function checkHedge(h: HedgeOptions, where: string): void {
  if (!(typeof h.delayMs === "number" && h.delayMs >= 0 && Number.isFinite(h.delayMs)))
    throw new TypeError(`${where}.delayMs must be a finite number ≥ 0, got ${String(h.delayMs)}`);
  if (h.max !== undefined && !(Number.isInteger(h.max) && h.max >= 1))
    throw new TypeError(`${where}.max must be an integer ≥ 1, got ${String(h.max)}`);
}

/** Whether `opts` asks for a hedged call that may be hedged: idempotent, routed by the selector. */
export function hedgeOf(
  opts: LegOptions,
  client: HedgeOptions | false | undefined,
): HedgeOptions | undefined {
  const h = opts.hedge ?? client;
  if (!h || opts.idempotent !== true || opts.address !== undefined) return undefined;
  return h;
}

/**
 * Runs `leg` once, and again on another node after each `delayMs` without an answer (up to
 * `max` times); resolves with the first answer and cancels the rest. Fails only when every
 * leg failed, with the first leg's error (the others' are usually "no other node").
 */
export function hedged<O extends LegOptions>(
  leg: (opts: O, hooks: LegHooks) => Promise<unknown>,
  service: string,
  opts: O,
  hedge: HedgeOptions,
  timeoutMs: number,
): Promise<unknown> {
  const max = hedge.max ?? 1;
  const deadline = Date.now() + timeoutMs;
  const used = new Set<string>();
  const controllers: AbortController[] = [];
  const errors: unknown[] = [];
  return new Promise((resolve, reject) => {
    checkHedge(hedge, "call option hedge"); // a throw here rejects the call
    let pending = 0;
    let launched = 0;
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const unlinks: (() => void)[] = [];
    const end = () => {
      done = true;
      clearTimeout(timer);
      for (const u of unlinks) u();
      const lost = cancelled(service, "another node answered this hedged call first");
      for (const c of controllers) if (!c.signal.aborted) c.abort(lost);
    };
    const launch = () => {
      const i = launched++;
      pending++;
      const c = new AbortController();
      controllers.push(c);
      unlinks.push(opts.signal === undefined ? noop : linkSignal(opts.signal, c));
      const hooks: LegHooks = {
        // The first leg goes anywhere; each hedge avoids the nodes the other legs picked.
        ...(i === 0 ? {} : { avoid: new Set(used) }),
        onNode: (n) => used.add(n.id),
      };
      const remaining = Math.max(1, deadline - Date.now());
      leg({ ...opts, signal: c.signal, requestTimeoutMs: remaining, hedge: false }, hooks).then(
        (value) => {
          if (done) return;
          end();
          resolve(value);
        },
        (err) => {
          errors[i] = err;
          pending--;
          if (done || pending > 0) return;
          end();
          reject(errors.find((e) => e !== undefined) ?? MicroError.from(err, service));
        },
      );
      if (launched <= max) timer = setTimeout(() => !done && launch(), hedge.delayMs);
    };
    launch();
  });
}
