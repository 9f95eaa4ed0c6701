/** What every command gets: its arguments, the flags, the output, and lazily the registry and client. */
import { type Broker, type Client, newClient, type Registry } from "tsmicro";
import { brokerFromEnv } from "tsmicro/plugin";
import type { Flags } from "./args.js";
import type { Output } from "./output.js";
import { selectRegistry } from "./registry.js";

export interface CommandContext {
  readonly args: readonly string[];
  readonly flags: Flags;
  readonly out: Output;
  registry(): Promise<Registry>;
  /** The broker chosen by --broker / MICRO_BROKER (the http broker finds subscribers in `registry()`). */
  broker(): Promise<Broker>;
  client(): Promise<Client>;
}

export interface Command {
  readonly usage: string;
  readonly summary: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  /** Resolves with the exit code. */
  run(ctx: CommandContext): Promise<number>;
}

export interface Resources extends CommandContext {
  /** Closes whatever was opened. */
  close(): Promise<void>;
}

export function createContext(args: readonly string[], flags: Flags, out: Output): Resources {
  let registry: Promise<Registry> | undefined;
  let client: Promise<Client> | undefined;
  let broker: Promise<Broker> | undefined;
  const getRegistry = () => {
    registry ??= Promise.resolve(selectRegistry({ kind: flags.registry, address: flags.registryAddress }));
    return registry;
  };
  const getBroker = () => {
    broker ??= getRegistry().then((r) => brokerFromEnv({ registry: r }));
    return broker;
  };
  return {
    args,
    flags,
    out,
    registry: getRegistry,
    broker: getBroker,
    client() {
      client ??= Promise.all([getRegistry(), getBroker()]).then(([r, b]) => {
        return newClient({
          registry: r,
          broker: b,
          ...(flags.timeoutMs === undefined ? {} : { requestTimeoutMs: flags.timeoutMs }),
        });
      });
      return client;
    },
    async close() {
      if (client !== undefined) await (await client).close();
      if (broker !== undefined) await (await broker).disconnect();
      if (registry !== undefined) await (await registry).close();
    },
  };
}
