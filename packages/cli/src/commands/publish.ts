import { background, type Client, withMetadata } from "tsmicro";
import { parseJsonArg } from "../args.js";
import type { Command } from "../context.js";
import { requireFeature } from "../feature.js";

type Message = Parameters<Client["publish"]>[1];

export const publish: Command = {
  usage: "publish <topic> '<json>'",
  summary: "publish a JSON message on the broker (--broker, --broker-address, --metadata k=v)",
  minArgs: 2,
  maxArgs: 2,
  async run({ args, flags, out, client }) {
    const [topic, json] = args as [string, string];
    const payload = parseJsonArg(json, "the message");
    const c = await client();
    requireFeature(c, "publish");
    const message: Message = { topic, payload };
    await out.spin(
      `publishing to ${topic}`,
      c.publish(withMetadata(background(), flags.metadata), message, {
        ...(flags.timeoutMs === undefined ? {} : { timeoutMs: flags.timeoutMs }),
      }),
    );
    if (out.json) out.data({ published: true, topic });
    else out.line(`published to ${topic}`);
    return 0;
  },
};
