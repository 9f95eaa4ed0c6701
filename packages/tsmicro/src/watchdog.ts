/**
 * The stall doctor's watchdog: reports each call that has sat in one phase longer than a
 * threshold, once per call and phase, with its chain, so a stuck chain is seen while it is
 * stuck rather than reconstructed after its timeout.
 */
import type { InflightSnapshot } from "./inflight.js";
import { startInterval, stopInterval } from "./util/deadline.js";

export interface WatchdogOptions {
  /** A call in one phase longer than this is reported. */
  thresholdMs: number;
  /** How often the table is scanned. @default thresholdMs / 2 (at least 10 ms) */
  intervalMs?: number;
  /** Where reports go. @default console.warn */
  log?: (message: string, call: InflightSnapshot) => void;
}

export function describeStuck(c: InflightSnapshot): string {
  const chain = c.chain.length > 0 ? ` chain: ${c.chain.join(" -> ")} ->` : "";
  const cycle = c.cycle ? " (re-enters a service already in its chain)" : "";
  return `tsmicro stall doctor: ${c.side} call ${c.service}.${c.endpoint} has been ${c.phase} for ${c.phaseAgeMs} ms (age ${c.ageMs} ms, node ${c.node ?? "?"}${c.breaker === undefined ? "" : ` whose circuit breaker is ${c.breaker}`}, attempt ${c.attempt})${chain} ${c.service}.${c.endpoint}${cycle}`;
}

/** A table that hands out its newly stuck calls itself (InflightTable): nothing else is copied. */
export interface StuckSource {
  takeStuck(thresholdMs: number): InflightSnapshot[];
}

/**
 * Starts scanning `source` (a StuckSource, or a function listing every call); returns the
 * function that stops it. The timer never keeps the process alive.
 */
export function startWatchdog(
  source: (() => InflightSnapshot[]) | StuckSource,
  options: WatchdogOptions,
): () => void {
  const log = options.log ?? ((m: string) => console.warn(m));
  const interval = Math.max(10, options.intervalMs ?? options.thresholdMs / 2);
  if (typeof source !== "function") {
    const timer = startInterval(
      () => {
        for (const c of source.takeStuck(options.thresholdMs)) log(describeStuck(c), c);
      },
      interval,
      true,
    );
    return () => stopInterval(timer);
  }
  const list = source;
  const reported = new Map<number, string>();
  const timer = startInterval(
    () => {
      const seen = new Set<number>();
      for (const c of list()) {
        seen.add(c.id);
        if (c.phaseAgeMs < options.thresholdMs || reported.get(c.id) === c.phase) continue;
        reported.set(c.id, c.phase);
        log(describeStuck(c), c);
      }
      for (const id of reported.keys()) if (!seen.has(id)) reported.delete(id);
    },
    interval,
    true,
  );
  return () => stopInterval(timer);
}
