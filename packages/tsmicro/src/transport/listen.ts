import type { Server } from "node:net";
import { parseAddress } from "./tcp-server.js";

/**
 * Binds `server` (net, tls or http2) to `address` and resolves with the bound `host:port`
 * (the real port when 0 was asked; IPv6 hosts in brackets). Shared by every listener.
 */
export async function listenAt(
  server: Pick<Server, "listen" | "once" | "off" | "address">,
  address: string,
): Promise<string> {
  const { host, port } = parseAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host, port }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return typeof bound === "object" && bound !== null ? `${shownHost}:${bound.port}` : address;
}
