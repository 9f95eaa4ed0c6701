import { createGateway, DEFAULT_GATEWAY_ADDRESS } from "@tsmicro/gateway";
import { createMetrics } from "@tsmicro/metrics";
import { newClient, type Registry } from "tsmicro";
import type { Flags } from "../args.js";
import type { Command } from "../context.js";
import type { Output } from "../output.js";
import { untilStopped } from "../stop.js";

export interface RunningGateway {
  readonly url: string;
  close(): Promise<void>;
}

/** The gateway and dashboard on --address, with a client whose calls /metrics reports; prints where. */
export async function startGateway(flags: Flags, out: Output, reg: Registry): Promise<RunningGateway> {
  const metrics = createMetrics();
  const client = newClient({
    registry: reg,
    wrappers: [metrics.client],
    ...(flags.timeoutMs === undefined ? {} : { requestTimeoutMs: flags.timeoutMs }),
  });
  metrics.observeClient(client, "gateway");
  const gateway = createGateway({
    address: flags.address ?? DEFAULT_GATEWAY_ADDRESS,
    registry: reg,
    client,
    routes: { "/metrics": metrics.handler },
  });
  const address = await gateway.listen();
  const url = `http://${address}/`;
  if (out.json) out.data({ url, address, registry: reg.name });
  else out.line(`tsmicro: gateway and dashboard on ${url} (registry ${reg.name}); Ctrl-C stops`);
  return {
    url,
    async close() {
      await gateway.close();
      await client.close();
    },
  };
}

export const gateway: Command = {
  usage: "gateway",
  summary: `start the HTTP gateway and web dashboard (--address, default ${DEFAULT_GATEWAY_ADDRESS}); /metrics has its calls`,
  minArgs: 0,
  maxArgs: 0,
  async run({ flags, out, registry }) {
    const stopped = untilStopped(out.closed);
    const running = await startGateway(flags, out, await registry());
    await stopped;
    await running.close();
    return 0;
  },
};
