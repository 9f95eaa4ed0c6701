import { createInterface } from "node:readline";
import { background, newRequest, withMetadata } from "tsmicro";
import { parseJsonArg } from "../args.js";
import type { Command } from "../context.js";
import { requireFeature } from "../feature.js";

/** The messages to send: each JSON argument, else (when stdin is piped) one JSON value per line. */
async function* messages(args: readonly string[]): AsyncGenerator<unknown> {
  if (args.length > 0 || process.stdin.isTTY) {
    for (const a of args) yield parseJsonArg(a, "a stream message");
    return;
  }
  let n = 0;
  for await (const line of createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY })) {
    n++;
    if (line.trim() !== "") yield parseJsonArg(line, `stdin line ${n}`);
  }
}

export const stream: Command = {
  usage: "stream <service> <endpoint> ['<json>' ...]",
  summary: "open a stream, send each JSON argument (or stdin lines), print each response as a JSON line",
  minArgs: 2,
  maxArgs: Number.POSITIVE_INFINITY,
  async run({ args, flags, out, client }) {
    const [service, endpoint, ...rest] = args as [string, string, ...string[]];
    const c = await client();
    requireFeature(c, "stream");
    const s = await c.stream(
      withMetadata(background(), flags.metadata),
      newRequest(service, endpoint, undefined),
      {
        ...(flags.address === undefined ? {} : { address: flags.address }),
        ...(flags.timeoutMs === undefined ? {} : { requestTimeoutMs: flags.timeoutMs }),
      },
    );
    // Sending and receiving run together: a server may answer before the last message is sent.
    const sending = (async () => {
      try {
        for await (const m of messages(rest)) await s.send(m);
        s.closeSend();
      } catch (err) {
        s.close(err instanceof Error ? err.message : String(err));
        throw err;
      }
    })();
    const received: Promise<void> = (async () => {
      for await (const r of s) out.line(JSON.stringify(r ?? null));
    })();
    const [sent, done] = await Promise.allSettled([sending, received]);
    // A bad message (usage error) explains the failure better than the cancel it caused.
    if (sent.status === "rejected") throw sent.reason;
    if (done.status === "rejected") throw done.reason;
    return 0;
  },
};
