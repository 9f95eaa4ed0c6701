import { defaultCodecs, HEADER } from "tsmicro/plugin";
import type { Command } from "../context.js";
import { untilStopped } from "../stop.js";

export const subscribe: Command = {
  usage: "subscribe <topic>",
  summary:
    "print each message published on a topic as a JSON line, until Ctrl-C (--broker, --queue via -m queue=)",
  minArgs: 1,
  maxArgs: 1,
  async run({ args, flags, out, broker }) {
    const topic = args[0]!;
    const b = await broker();
    const codecs = defaultCodecs();
    const queue = flags.metadata.queue;
    await b.subscribe(
      topic,
      (event) => {
        const headers = event.message.headers;
        const codec = codecs.get(headers[HEADER.contentType] ?? "application/json", "tsmicro");
        const payload = codec.decode(event.message.body);
        out.line(JSON.stringify({ topic: event.topic, headers, payload }));
      },
      queue === undefined ? {} : { queue },
    );
    // On stderr so that stdout stays one JSON value per line.
    process.stderr.write(`tsmicro: subscribed to ${topic} on ${b.name}; Ctrl-C stops\n`);
    await untilStopped(out.closed);
    return 0;
  },
};
