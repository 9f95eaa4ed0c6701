import type { Command } from "../context.js";
import { askNodes } from "../nodes.js";
import { duration } from "../output.js";

interface Health {
  status: string;
  node?: string;
  address?: string;
  version?: string;
  uptimeMs?: number;
  inflight?: number;
  checks?: Record<string, unknown>;
}

export const health: Command = {
  usage: "health <service>",
  summary: "ask every node of a service for Debug.Health; exits 1 unless all are ok",
  minArgs: 1,
  maxArgs: 1,
  async run(ctx) {
    const { args, out } = ctx;
    const service = args[0]!;
    const answers = await out.spin(`checking ${service}`, askNodes<Health>(ctx, service, "Debug.Health"));
    const healthy = answers.every((a) => a.result?.status === "ok");
    if (out.json) {
      out.data({ service, healthy, nodes: answers });
      return healthy ? 0 : 1;
    }
    out.table(
      ["NODE", "ADDRESS", "STATUS", "UPTIME", "INFLIGHT", "CHECKS"],
      answers.map((a) =>
        a.result === undefined
          ? [a.node, a.address, "unreachable", "-", "-", `${a.error?.code} ${a.error?.detail}`]
          : [
              a.node,
              a.address,
              a.result.status,
              a.result.uptimeMs === undefined ? "-" : duration(a.result.uptimeMs),
              String(a.result.inflight ?? "-"),
              a.result.checks === undefined
                ? "-"
                : Object.entries(a.result.checks)
                    .map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : String(v)}`)
                    .join(" "),
            ],
      ),
    );
    if (!healthy) {
      const bad = answers.filter((a) => a.result?.status !== "ok").length;
      out.fail(`${service}: ${bad} of ${answers.length} node(s) not healthy`);
    }
    return healthy ? 0 : 1;
  },
};
