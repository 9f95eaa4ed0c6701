import { background, type Client, MicroError, withMetadata } from "tsmicro";
import { parseJsonArg } from "../args.js";
import type { Command } from "../context.js";

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
    if (typeof (c as { publish?: unknown }).publish !== "function") {
      throw new MicroError({
        id: "tsmicro",
        code: 501,
        detail: "publish is not supported by this build (its client has no publish())",
        retryable: false,
      });
    }
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
