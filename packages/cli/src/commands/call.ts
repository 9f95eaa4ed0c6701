import { background, newRequest, withMetadata } from "tsmicro";
import { parseJsonArg } from "../args.js";
import type { Command } from "../context.js";

export const call: Command = {
  usage: "call <service> <endpoint> ['<json>']",
  summary: "call an endpoint and print its JSON answer (--metadata k=v, --timeout, --address)",
  minArgs: 2,
  maxArgs: 3,
  async run({ args, flags, out, client }) {
    const [service, endpoint, json] = args as [string, string, string | undefined];
    const body = parseJsonArg(json, "the request body");
    const c = await client();
    const ctx = withMetadata(background(), flags.metadata);
    const result = await out.spin(
      `calling ${service} ${endpoint}`,
      c.call(ctx, newRequest(service, endpoint, body), {
        ...(flags.address === undefined ? {} : { address: flags.address }),
        ...(flags.timeoutMs === undefined ? {} : { requestTimeoutMs: flags.timeoutMs }),
      }),
    );
    out.data(result ?? null);
    return 0;
  },
};
