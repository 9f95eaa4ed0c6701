// The one handler every chaos service runs: it reads its plan from the request, works,
// maybe fails, and calls its children through the process's shared client.
import type { Client } from "../../src/client/client.js";
import { newRequest } from "../../src/client/request.js";
import type { Context } from "../../src/context.js";
import { MicroError } from "../../src/errors.js";
import { sleep } from "../../src/util/abort.js";
import type { Plan } from "./plan.js";

export interface CallBody {
  plan: Plan;
  /** Address of each service by index. */
  addrs: string[];
}

export const serviceName = (i: number) => `chaos-${i}`;

export function createNodeHandler(client: () => Client, onDone?: (ctx: Context) => void) {
  return new (class Node {
    async Call(ctx: Context, req: CallBody): Promise<{ n: number }> {
      try {
        const p = req.plan;
        if (p.ms > 0) {
          if (p.stubborn) await new Promise((r) => setTimeout(r, p.ms));
          else await sleep(p.ms, ctx.signal);
        }
        if (ctx.signal.aborted && !p.stubborn) throw MicroError.from(ctx.signal.reason);
        if (p.fail) throw new MicroError({ id: serviceName(p.s), code: p.fail, detail: "injected failure" });
        const results = await Promise.allSettled(
          p.kids.map((k) =>
            client().call<{ n: number }>(
              ctx,
              newRequest(serviceName(k.s), "Node.Call", { plan: k, addrs: req.addrs }),
              {
                address: req.addrs[k.s]!,
              },
            ),
          ),
        );
        let n = 1;
        for (const r of results) {
          if (r.status === "rejected") throw r.reason;
          n += r.value.n;
        }
        return { n };
      } finally {
        onDone?.(ctx);
      }
    }
  })();
}
