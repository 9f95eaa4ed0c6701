import { createGateway, DEFAULT_GATEWAY_ADDRESS } from "@tsmicro/gateway";
import { createMetrics } from "@tsmicro/metrics";
import { newClient } from "tsmicro";
import type { Command } from "../context.js";
import { untilStopped } from "../stop.js";

export const gateway: Command = {
  usage: "gateway",
  summary: `start the HTTP gateway and web dashboard (--address, default ${DEFAULT_GATEWAY_ADDRESS}); /metrics has its calls`,
  minArgs: 0,
  maxArgs: 0,
  async run({ flags, out, registry }) {
    const reg = await registry();
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
    await untilStopped(out.closed);
    await gateway.close();
    await client.close();
    return 0;
  },
};
