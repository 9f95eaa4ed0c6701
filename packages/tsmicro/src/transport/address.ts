/**
 * Which address goes in the registry (go-micro's `server.Advertise` and `util/addr.Extract`).
 * Everything that registers or hands out an address (services on any transport, the http
 * broker's subscribers) asks this one module, so the rule is the same everywhere:
 *
 * 1. An `advertise` value wins: `host:port` as given, or a bare host that takes the bound port.
 * 2. Otherwise a listener bound to a concrete host registers that host and the bound port.
 * 3. A listener bound to a wildcard (`0.0.0.0`, `::`) registers the first address of this
 *    host, in `os.networkInterfaces()` order, that is neither loopback nor link-local
 *    (169.254.0.0/16, fe80::/10): IPv4 first, then, only for a `::` bind, IPv6.
 *    Never the wildcard itself, which no other host can dial.
 * 4. When nothing qualifies, a MicroError names the option to set.
 *
 * It also holds the one `host:port` parser and the one `listen` every listener in tsmicro and
 * its packages uses (TCP, TLS, gRPC, the http broker, health, metrics, the gateway).
 */
import { isIP, type Server } from "node:net";
import { type NetworkInterfaceInfo, networkInterfaces } from "node:os";
import { badRequest, MicroError } from "../errors.js";

/** The environment variable for the address a service listens on (go-micro's). */
export const ENV_SERVER_ADDRESS = "MICRO_SERVER_ADDRESS";
/** The environment variable for the address a service registers (go-micro's). */
export const ENV_SERVER_ADVERTISE = "MICRO_SERVER_ADVERTISE";
/** The environment variable for the address the http broker registers for its subscribers. */
export const ENV_BROKER_ADVERTISE = "MICRO_BROKER_ADVERTISE";

export type InterfaceList = () => NodeJS.Dict<NetworkInterfaceInfo[]>;

export interface AdvertiseOptions {
  /** `host:port` or a bare host to register instead of the bound address. @default none */
  advertise?: string | undefined;
  /** How the user sets `advertise` here, named in the error. @default "advertise" */
  option?: string;
  /** Who asks, for the error's id. @default "tsmicro" */
  id?: string;
  /** This host's interfaces; inject to test. @default os.networkInterfaces */
  interfaces?: InterfaceList;
}

/** `0.0.0.0`, `::` and the empty host: bound to every interface. */
export function isWildcardHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "");
  return h === "" || h === "0.0.0.0" || h === "::" || h === "0:0:0:0:0:0:0:0";
}

/** `host:port`, with an IPv6 host in brackets. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

function isLinkLocal(info: NetworkInterfaceInfo): boolean {
  if (info.family === "IPv4") return info.address.startsWith("169.254.");
  return /^fe[89ab][0-9a-f]:/i.test(info.address);
}

/**
 * The host a wildcard listener should register: rule 3 above, or undefined when this host
 * has no address another host could dial.
 */
export function interfaceHost(
  ipv6: boolean,
  interfaces: InterfaceList = networkInterfaces,
): string | undefined {
  const all = Object.values(interfaces()).flatMap((list) => list ?? []);
  const usable = all.filter((i) => !i.internal && !isLinkLocal(i));
  return (
    usable.find((i) => i.family === "IPv4")?.address ??
    (ipv6 ? usable.find((i) => i.family === "IPv6")?.address : undefined)
  );
}

/**
 * Where a service's default http broker listens and what it advertises, so that its
 * subscribers are as reachable as the service: a wildcard bind is shared (port 0), and an
 * advertised host is shared (with the broker's own port). Undefined fields keep the broker's
 * defaults (127.0.0.1:0, derived from the bound address).
 */
export function brokerDefaultsFor(
  address: string | undefined,
  advertise: string | undefined,
): { address?: string; advertise?: string } {
  const out: { address?: string; advertise?: string } = {};
  if (address !== undefined) {
    const { host } = parseAddress(address);
    if (isWildcardHost(host)) out.address = joinHostPort(host, 0);
  }
  const a = advertise?.trim();
  // A malformed advertise is left to the service's start, which refuses it naming its option.
  const host = a ? splitAdvertise(a)?.host : undefined;
  if (host !== undefined) out.advertise = host;
  return out;
}

/**
 * `host:port`, `[v6]:port`, or a bare host (a name, an IPv4 or an IPv6 address, bracketed or
 * not); undefined for anything else, such as a port that is not a number or a stray bracket.
 */
function splitAdvertise(value: string): { host: string; port: number | undefined } | undefined {
  if (isIP(value) === 6) return { host: value, port: undefined };
  const m = /^(?:\[([^[\]\s]+)\]|([^:[\]\s]+))(?::(\d{1,5}))?$/.exec(value);
  const port = m?.[3] === undefined ? undefined : Number(m[3]);
  if (m === null || (port !== undefined && port > 65535)) return undefined;
  if (m[1] !== undefined && isIP(m[1]) !== 6) return undefined; // brackets hold IPv6 only
  return { host: m[1] ?? m[2] ?? "", port };
}

/** The `host:port` to register for a listener bound at `bound` (see the rules above). */
export function advertisedAddress(bound: string, options: AdvertiseOptions = {}): string {
  const id = options.id ?? "tsmicro";
  const option = options.option ?? "advertise";
  const { host, port } = parseAddress(bound);
  const advertise = options.advertise?.trim();
  if (advertise) {
    const split = splitAdvertise(advertise);
    if (split === undefined) {
      throw new MicroError({
        id,
        code: 400,
        detail: `${option} is "${advertise}": give a host, host:port (port 0–65535), [IPv6] or [IPv6]:port`,
        retryable: false,
      });
    }
    const given = { host: split.host, port: split.port ?? port };
    if (isWildcardHost(given.host)) {
      throw new MicroError({
        id,
        code: 400,
        detail: `${option} is "${advertise}", a wildcard no other host can dial: give this host's name or IP`,
        retryable: false,
      });
    }
    return joinHostPort(given.host, given.port);
  }
  if (!isWildcardHost(host)) return joinHostPort(host, port);
  const found = interfaceHost(host.includes(":"), options.interfaces);
  if (found === undefined) {
    throw new MicroError({
      id,
      code: 500,
      detail:
        `listening on ${bound}, but this host has no non-loopback, non-link-local address to register ` +
        `in its place: set ${option} to the host:port other hosts dial`,
      retryable: false,
    });
  }
  return joinHostPort(found, port);
}

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
 * (the real port when 0 was asked; IPv6 hosts in brackets). `backlog`: the accept queue's
 * length (Node's default, 511, when undefined).
 */
export async function listenAt(
  server: Pick<Server, "listen" | "once" | "off" | "address">,
  address: string,
  what = "address",
  backlog?: number,
): Promise<string> {
  const { host, port } = parseAddress(address, what);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(backlog === undefined ? { host, port } : { host, port, backlog }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const bound = server.address();
  const shownHost = host.includes(":") ? `[${host}]` : host;
  return typeof bound === "object" && bound !== null ? `${shownHost}:${bound.port}` : address;
}
