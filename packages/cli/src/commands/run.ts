import { resolve } from "node:path";
import type { Command } from "../context.js";
import { Prefixer } from "../run/prefix.js";
import { findServices } from "../run/project.js";
import { Supervisor } from "../run/supervisor.js";
import { untilStopped } from "../stop.js";
import { startGateway } from "./gateway.js";

export const run: Command = {
  usage: "run [dir]",
  summary:
    "run a project's services (tsmicro.json, or src/main.ts, or services/*/main.*) with the gateway and dashboard; restart on change; Ctrl-C stops all",
  minArgs: 0,
  maxArgs: 1,
  async run({ args, flags, out, registry }) {
    // Listening for Ctrl-C from the start: a stop during startup still stops what started.
    const stopped = untilStopped(out.closed);
    const dir = resolve(args[0] ?? ".");
    const specs = findServices(dir);
    const reg = await registry();
    if (specs.length === 0) {
      process.stderr.write(
        `tsmicro: no services in ${dir} (no tsmicro.json, src/main.*, or services/*/main.*): running the gateway and dashboard only, as tsmicro gateway does\n`,
      );
    }
    const prefixer = new Prefixer(
      specs.map((s) => s.name),
      (l) => out.line(l),
      Boolean(process.stdout.isTTY) && !out.json,
    );
    const supervisor = new Supervisor(specs, dir, prefixer);
    supervisor.start();
    let gw: Awaited<ReturnType<typeof startGateway>> | undefined;
    try {
      gw = await startGateway(flags, out, reg);
      await stopped;
    } finally {
      prefixer.say("tsmicro", specs.length, "stopping every service");
      await supervisor.stop();
      await gw?.close();
    }
    return 0;
  },
};
