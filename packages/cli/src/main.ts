/**
 * `tsmicro`: see and poke a running system. Exit codes: 0 ok, 1 the operation failed
 * (one line on stderr says why), 2 the command line was wrong.
 */
import { MicroError } from "tsmicro";
import { parse, UsageError } from "./args.js";
import { call } from "./commands/call.js";
import { completion, completionWords } from "./commands/completion.js";
import { describe } from "./commands/describe.js";
import { gateway } from "./commands/gateway.js";
import { gen } from "./commands/gen.js";
import { health } from "./commands/health.js";
import { inflight } from "./commands/inflight.js";
import { mcp } from "./commands/mcp.js";
import { newProject } from "./commands/new.js";
import { publish } from "./commands/publish.js";
import { run } from "./commands/run.js";
import { services } from "./commands/services.js";
import { stream } from "./commands/stream.js";
import { subscribe } from "./commands/subscribe.js";
import { watch } from "./commands/watch.js";
import { type Command, createContext } from "./context.js";
import { Output } from "./output.js";
import { applyRegistryFlags } from "./registry.js";

export const COMMANDS: Readonly<Record<string, Command>> = {
  new: newProject,
  gen,
  services,
  describe,
  call,
  stream,
  publish,
  subscribe,
  watch,
  health,
  inflight,
  run,
  gateway,
  mcp,
  completion,
};

completionWords.commands = Object.keys(COMMANDS);
completionWords.flags = [
  "--registry",
  "--registry-address",
  "--broker",
  "--broker-address",
  "--metadata",
  "--timeout",
  "--address",
  "--json",
  "--help",
  "--template",
  "--no-install",
  "--out",
  "--allow",
  "--http",
  "--token",
];

export function usage(): string {
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    "usage: tsmicro <command> [args] [flags]",
    "",
    "commands:",
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    "",
    "flags:",
    "  --registry <kind>           registry: local (default), memory, etcd, nats   [MICRO_REGISTRY]",
    "  --registry-address <addr>   where it is (local: a directory)               [MICRO_REGISTRY_ADDRESS]",
    "  --broker <kind>             broker for publish: http (default), nats, redis, rabbitmq  [MICRO_BROKER]",
    "  --broker-address <addr>     where it is                                     [MICRO_BROKER_ADDRESS]",
    "  -m, --metadata key=value    call metadata (repeatable)",
    "  -t, --timeout <duration>    e.g. 500, 500ms, 2s (call default 5s, node questions 2s)",
    "  -a, --address <host:port>   call this node directly; for gateway and run, where to listen",
    "  --json                      machine-readable output",
    "  -h, --help                  this text",
  ].join("\n");
}

export async function main(argv: readonly string[]): Promise<number> {
  let out = new Output({ json: argv.includes("--json") });
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    out.fail(`${(err as Error).message} (tsmicro --help lists the commands and flags)`);
    return 2;
  }
  const { command, args, flags } = parsed;
  out = new Output({ json: flags.json });
  if (flags.help || command === undefined || command === "help") {
    out.line(usage());
    return command === undefined && !flags.help ? 2 : 0;
  }
  const cmd = COMMANDS[command];
  if (cmd === undefined) {
    out.fail(`unknown command "${command}"; commands: ${Object.keys(COMMANDS).join(", ")}`);
    return 2;
  }
  if (args.length < cmd.minArgs || args.length > cmd.maxArgs) {
    out.fail(`usage: tsmicro ${cmd.usage}`);
    return 2;
  }
  applyRegistryFlags({ kind: flags.registry, address: flags.registryAddress });
  if (flags.broker !== undefined) process.env.MICRO_BROKER = flags.broker;
  if (flags.brokerAddress !== undefined) process.env.MICRO_BROKER_ADDRESS = flags.brokerAddress;

  const ctx = createContext(args, flags, out);
  try {
    return await cmd.run(ctx);
  } catch (err) {
    if (err instanceof UsageError) {
      out.fail(`${command}: ${err.message}`);
      return 2;
    }
    const e = MicroError.from(err, "tsmicro");
    if (out.json) out.data({ error: e.toJSON() });
    const chain = e.chain.length > 0 ? ` [chain: ${e.chain.join(" -> ")}]` : "";
    out.fail(`${command} failed: ${e.code} ${e.status}: ${e.detail}${chain}`);
    return 1;
  } finally {
    await ctx.close().catch(() => {});
  }
}
