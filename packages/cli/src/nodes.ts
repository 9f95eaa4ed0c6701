/** Asks the nodes of a service (or just `--address`) one of the built-in Debug endpoints. */
import { callEveryNode, type NodeAnswer } from "@tsmicro/gateway";
import { background, MicroError, newRequest, withTimeout } from "tsmicro";
import type { CommandContext } from "./context.js";

export const DEFAULT_NODE_TIMEOUT_MS = 2000;

export async function askNodes<T>(
  ctx: CommandContext,
  service: string,
  endpoint: string,
): Promise<NodeAnswer<T>[]> {
  const timeoutMs = ctx.flags.timeoutMs ?? DEFAULT_NODE_TIMEOUT_MS;
  const client = await ctx.client();
  const address = ctx.flags.address;
  if (address === undefined) {
    return callEveryNode<T>(client, await ctx.registry(), service, endpoint, { timeoutMs });
  }
  const base = { service, version: "", node: address, address };
  try {
    const result = await client.call<T>(
      withTimeout(background(), timeoutMs),
      newRequest(service, endpoint, {}),
      {
        address,
        retries: 0,
      },
    );
    return [{ ...base, result }];
  } catch (err) {
    return [{ ...base, error: MicroError.from(err, service).toJSON() }];
  }
}
