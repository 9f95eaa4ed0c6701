/**
 * go-micro's default transport and RPC protocol (v4: the HTTP transport with the mucp server),
 * as a tsmicro Transport: give it to `newService({ transport })` and `newClient({ transport })`
 * and tsmicro serves and calls go-micro nodes on their own wire.
 */
import type { Transport } from "tsmicro/plugin";
import { GoMicroConnection } from "./wire/client.js";
import { type GoMicroTransportOptions, resolveGoMicroTransportOptions } from "./wire/options.js";
import { listenGoMicro } from "./wire/server.js";
import { probe, WireSocket } from "./wire/socket.js";

export { DEFAULT_GO_MICRO_TRANSPORT_OPTIONS, type GoMicroTransportOptions } from "./wire/options.js";

/** go-micro's name for its HTTP transport, as its nodes announce it (`transport` metadata). */
export const GO_MICRO_TRANSPORT_NAME = "http";

export function createGoMicroTransport(options: GoMicroTransportOptions = {}): Transport {
  const opts = resolveGoMicroTransportOptions(options);
  return {
    name: GO_MICRO_TRANSPORT_NAME,
    async dial(address, dialOptions) {
      // The first socket proves the node is there (the selector ejects it otherwise), and
      // learns whether the node is tsmicro (and so multiplexes).
      const started = Date.now();
      const first = await WireSocket.open(address, opts, dialOptions.timeoutMs, dialOptions.signal);
      await probe(first, Math.max(1, dialOptions.timeoutMs - (Date.now() - started)));
      return new GoMicroConnection(address, first, opts);
    },
    listen: (address, handler, streamHandler) => listenGoMicro(address, handler, streamHandler, opts),
  };
}
