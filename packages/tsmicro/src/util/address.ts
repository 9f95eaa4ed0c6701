/**
 * `host:port` addresses and listening on them: the one parser and the one `listen` every
 * listener in tsmicro and its packages uses (TCP, TLS, gRPC, the http broker, health, metrics).
 */
import type { Server } from "node:net";
import { badRequest } from "../errors.js";

/**
 * Splits `host:port` (IPv6 hosts in brackets; an empty host means 127.0.0.1). Throws a 400
 * naming `what` when there is no port or it is not 0–65535.
 */
export function parseAddress(address: string, what = "address"): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  if (i < 0) throw badRequest("tsmicro", `${what} "${address}" is not host:port`);
  const host = address.slice(0, i).replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(address.slice(i + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw badRequest("tsmicro", `${what} "${address}" has no valid port`);
  }
  return { host, port };
}

/**
 * Binds `server` (net, tls, http or http2) to `address` and resolves with the bound `host:port`
 * (the real port when 0 was asked; IPv6 hosts in brackets).
 */
export async function listenAt(
  server: Pick<Server, "listen" | "once" | "off" | "address">,
  address: string,
  what = "address",
): Promise<string> {
  const { host, port } = parseAddress(address, what);
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
