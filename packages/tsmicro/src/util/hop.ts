/**
 * A hop: one step of a call chain — which service's endpoint ran on which node. In the process
 * it is this structure; it is rendered as `service.endpoint@node` only at the edges: on the
 * wire (the chain header), in logs and in errors.
 *
 * A rendered hop cannot be split back reliably (service names and endpoint names both contain
 * dots: `go.micro.srv.greeter` + `Greeter.Hello`), so nothing parses one: code that needs to
 * know whether a received chain passed through a service asks `passesThrough`, which compares
 * with that service's rendered prefix.
 */

export interface Hop {
  /** The service's name, dots and all (`go.micro.srv.greeter`). */
  readonly service: string;
  /** The endpoint (`Greeter.Hello`, `demo.v1.Demo.Fail`). */
  readonly endpoint: string;
  /** The node's id; undefined on the client side before a node is chosen. */
  readonly node?: string | undefined;
}

/** The wire and log form: `service.endpoint@node` (`service.endpoint` without a node). */
export function renderHop(hop: Hop): string {
  const base = `${hop.service}.${hop.endpoint}`;
  return hop.node === undefined ? base : `${base}@${hop.node}`;
}

/**
 * Whether rendered hops `chain` (the first `count` of them) include one of `service`'s.
 * The one place a received chain is compared with a service: cycle detection, nested calls.
 */
export function passesThrough(chain: readonly string[], service: string, count = chain.length): boolean {
  const prefix = `${service}.`;
  for (let i = 0; i < count; i++) if (chain[i]!.startsWith(prefix)) return true;
  return false;
}

/**
 * The structured hop a chain ends with, for the chains the server built (the handler's context
 * keeps its chain array through `withMetadata`, `withTimeout` and the like, so the hop is found
 * from any context derived from the handler's).
 */
// A symbol-keyed property on the chain array, not a WeakMap: a WeakMap entry per call cost about
// 1.6 µs of CPU and more GC work (bench/cpu-per-call.mjs profile). Spread, JSON and equality
// ignore symbol keys, so the chain is still a plain string array to everyone else.
const LAST_HOP: unique symbol = Symbol("tsmicro.lastHop");
type HopChain = string[] & { [LAST_HOP]?: Hop };

/** The chain `before` plus `hop`, remembering the structured hop it ends with. */
export function extendChain(before: readonly string[] | undefined, hop: Hop): readonly string[] {
  const rendered = renderHop(hop);
  const chain: HopChain = before === undefined || before.length === 0 ? [rendered] : [...before, rendered];
  chain[LAST_HOP] = hop;
  return chain;
}

/** The hop whose handler `chain` belongs to (a handler's `ctx.chain`), if the server built it. */
export function hopOf(chain: readonly string[]): Hop | undefined {
  return (chain as HopChain)[LAST_HOP];
}
