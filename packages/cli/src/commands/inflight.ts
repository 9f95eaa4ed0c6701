import type { BreakerState, InflightSnapshot } from "tsmicro/plugin";
import type { Command } from "../context.js";
import { askNodes } from "../nodes.js";
import { duration } from "../output.js";

interface Inflight {
  node: string;
  server: InflightSnapshot[];
  client: InflightSnapshot[];
  /** The node's client's circuit breakers (absent from nodes older than them). */
  breakers?: BreakerState[];
}

/** The Debug.Inflight call that took the snapshot is in it; it is not the user's traffic. */
const own = (c: InflightSnapshot) => !c.endpoint.startsWith("Debug.");

export const inflight: Command = {
  usage: "inflight <service>",
  summary:
    "the stall doctor's view: calls in flight on every node, with phase, age and chain, and its clients' circuit breakers",
  minArgs: 1,
  maxArgs: 1,
  async run(ctx) {
    const { args, out } = ctx;
    const service = args[0]!;
    const answers = await out.spin(`asking ${service}`, askNodes<Inflight>(ctx, service, "Debug.Inflight"));
    const failed = answers.filter((a) => a.result === undefined);
    const calls = answers.flatMap((a) =>
      a.result === undefined
        ? []
        : [...a.result.server.filter(own), ...a.result.client.filter(own)].map((c) => ({
            ...c,
            nodeId: a.node,
          })),
    );
    const breakers = answers.flatMap((a) => (a.result?.breakers ?? []).map((b) => ({ ...b, from: a.node })));
    if (out.json) {
      out.data({ service, calls, breakers, failed });
    } else {
      if (calls.length === 0)
        out.line(`no calls in flight on ${answers.length - failed.length} node(s) of ${service}`);
      else
        out.table(
          ["NODE", "SIDE", "CALL", "PHASE", "AGE", "IN PHASE", "DEADLINE", "CHAIN"],
          calls.map((c) => [
            c.nodeId,
            c.side,
            `${c.service}.${c.endpoint}`,
            c.phase + (c.attempt > 1 ? ` (attempt ${c.attempt})` : ""),
            duration(c.ageMs),
            duration(c.phaseAgeMs),
            c.deadline === undefined ? "-" : `in ${duration(Math.max(0, c.deadline - Date.now()))}`,
            (c.chain.length === 0 ? "(from outside)" : c.chain.join(" -> ")) +
              (c.cycle ? "  CYCLE" : "") +
              (c.breaker === undefined ? "" : `  BREAKER ${c.breaker.toUpperCase()}`),
          ]),
        );
      if (breakers.length > 0)
        out.table(
          ["FROM", "BREAKER TO", "NODE", "STATE", "FAILED", "PROBE"],
          breakers.map((b) => [
            b.from,
            b.service,
            b.node,
            b.state,
            `${b.failures}/${b.requests}`,
            b.probeAt === undefined ? "-" : `in ${duration(Math.max(0, b.probeAt - Date.now()))}`,
          ]),
        );
    }
    for (const f of failed)
      out.fail(`${f.node} (${f.address}) did not answer: ${f.error?.code} ${f.error?.detail}`);
    return failed.length === 0 ? 0 : 1;
  },
};
