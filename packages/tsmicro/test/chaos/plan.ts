// Generated call graphs for the chaos suite: a plan is a tree of hops; each hop names the
// service that handles it, how long it works, whether it fails, and the calls it makes.
import fc from "fast-check";

export interface Plan {
  /** Index of the service handling this hop. */
  s: number;
  /** Work before calling the children, ms. */
  ms: number;
  /** Inject this error code instead of calling the children. */
  fail?: 500 | 503;
  /** Keep working when cancelled (a handler that ignores ctx.signal). */
  stubborn?: boolean;
  kids: Plan[];
}

export interface ServiceSpec {
  /** Bulkhead for this service, if any. */
  limit?: { maxConcurrent: number; maxQueue: number; reservedForNested: number };
  /** Hosted by the child process (two-process mode). */
  remote: boolean;
}

export interface RootCall {
  plan: Plan;
  timeoutMs: number;
  /** Cancel the root call after this many ms. */
  cancelAfterMs?: number;
}

export interface StormOp {
  retries: number;
  poolSize: number;
  requestTimeoutMs?: number;
}

export interface Scenario {
  services: ServiceSpec[];
  poolSize: number;
  roots: RootCall[];
  storm: { everyMs: number; ops: StormOp[] };
}

export interface Knobs {
  /** Services may have bulkheads, hops may fail, roots may be cancelled, deadlines may be short. */
  hostile: boolean;
  /** Some services run in a child process. */
  twoProcess: boolean;
  /** Ceiling on handler latency, ms. */
  maxMs: number;
  /** Hops may ignore cancellation (and work up to `stubbornMs`). */
  stubbornMs?: number;
}

export function size(p: Plan): number {
  return 1 + p.kids.reduce((n, k) => n + size(k), 0);
}

export function criticalPathMs(p: Plan): number {
  return p.ms + Math.max(0, ...p.kids.map(criticalPathMs));
}

export function depth(p: Plan): number {
  return 1 + Math.max(0, ...p.kids.map(depth));
}

function planArb(services: number, k: Knobs): fc.Arbitrary<Plan> {
  // Depth up to 8, fan-out up to 4 near the root and narrowing below, so a tree stays small.
  const build: fc.Memo<Plan> = fc.memo<Plan>(
    (n): fc.Arbitrary<Plan> =>
      fc.record({
        s: fc.nat(services - 1),
        ms: fc.nat(k.maxMs),
        fail: k.hostile
          ? fc.option(fc.constantFrom<500 | 503>(500, 503), { freq: 8, nil: undefined })
          : fc.constant(undefined),
        stubborn: k.stubbornMs !== undefined ? fc.boolean() : fc.constant(undefined),
        kids: n <= 1 ? fc.constant([]) : fc.array(build(), { maxLength: n >= 7 ? 4 : n >= 5 ? 2 : 1 }),
      }),
  );
  return build(8).map((p) => (k.stubbornMs === undefined ? p : stubbornMs(p, k.stubbornMs)));
}

/** Stubborn hops work long: the point is to outlive their deadline. */
function stubbornMs(p: Plan, ms: number): Plan {
  return { ...p, ms: p.stubborn ? ms : p.ms, kids: p.kids.map((c) => stubbornMs(c, ms)) };
}

export function scenarioArb(k: Knobs): fc.Arbitrary<Scenario> {
  return fc.integer({ min: 2, max: 4 }).chain((n) =>
    fc.record({
      services: fc.array(
        fc.record({
          limit: k.hostile
            ? fc.option(
                fc.record({
                  maxConcurrent: fc.integer({ min: 1, max: 4 }),
                  maxQueue: fc.integer({ min: 0, max: 8 }),
                  reservedForNested: fc.integer({ min: 0, max: 2 }),
                }),
                { nil: undefined },
              )
            : fc.constant(undefined),
          remote: k.twoProcess ? fc.boolean() : fc.constant(false),
        }),
        { minLength: n, maxLength: n },
      ),
      poolSize: fc.integer({ min: 1, max: 4 }),
      roots: fc.array(
        fc.record({
          plan: planArb(n, k),
          timeoutMs: k.hostile ? fc.integer({ min: 50, max: 1500 }) : fc.constant(0),
          cancelAfterMs: k.hostile
            ? fc.option(fc.integer({ min: 0, max: 400 }), { nil: undefined })
            : fc.constant(undefined),
        }),
        { minLength: 1, maxLength: 6 },
      ),
      storm: fc.record({
        everyMs: fc.integer({ min: 1, max: 20 }),
        ops: fc.array(
          fc.record({
            retries: fc.integer({ min: 0, max: 2 }),
            poolSize: fc.integer({ min: 1, max: 4 }),
            requestTimeoutMs: k.hostile
              ? fc.option(fc.integer({ min: 100, max: 3000 }), { nil: undefined })
              : fc.constant(undefined),
          }),
          { minLength: 1, maxLength: 8 },
        ),
      }),
    }),
  );
}
