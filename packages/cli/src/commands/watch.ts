import type { RegistryEvent } from "tsmicro/plugin";
import type { Command } from "../context.js";
import { untilStopped } from "../stop.js";

/** `12:00:01.234  create  greeter 1.0.0  greeter-5f0c… 127.0.0.1:4100`. */
function line(e: RegistryEvent): string {
  const time = new Date().toISOString().slice(11, 23);
  const nodes = e.service.nodes.map((n) => `${n.id} ${n.address}`).join(", ");
  return `${time}  ${e.type.padEnd(6)}  ${e.service.name} ${e.service.version}  ${nodes}`;
}

export const watch: Command = {
  usage: "watch [service]",
  summary: "print registry events (create, update, delete) as they happen, until Ctrl-C",
  minArgs: 0,
  maxArgs: 1,
  async run({ args, out, registry }) {
    const reg = await registry();
    const stop = new AbortController();
    const watcher = reg.watch({
      signal: stop.signal,
      ...(args[0] === undefined ? {} : { service: args[0] }),
    });
    // On stderr, so that stdout has only events (one JSON value per line with --json).
    process.stderr.write(`tsmicro: watching ${args[0] ?? "every service"} in ${reg.name}; Ctrl-C stops\n`);
    const printing = (async () => {
      for await (const e of watcher) {
        if (out.json) out.data({ type: e.type, service: e.service });
        else out.line(line(e));
      }
    })();
    await Promise.race([untilStopped(out.closed), printing]);
    stop.abort();
    watcher.stop();
    await printing;
    return 0;
  },
};
