/**
 * A small private network for the multi-host test: Linux network namespaces (one per "host",
 * plus one holding the bridge), all named `tsmicro-mh<pid>-<role>`, joined by veth pairs to a
 * bridge on a private /24 the test picks. Every link lives inside a namespace the test made:
 * nothing is added to the machine's own namespace, there is no default route and no address
 * outside the subnet, so traffic cannot leave the bridge. Deleting the namespaces removes it all.
 */
import { execFileSync } from "node:child_process";

const PREFIX = "tsmicro-mh";

export interface Host {
  /** The role, e.g. "reg", "a". */
  role: string;
  /** Namespace name. */
  ns: string;
  /** This host's address on the bridge. */
  ip: string;
  /** The bridge-side end of its veth (in the bridge namespace): down = cable cut. */
  port: string;
}

export interface Network {
  subnet: string;
  hosts: Record<string, Host>;
  bridgeNs: string;
  /** Takes a host off the bridge (its cable) or puts it back. */
  link(role: string, up: boolean): void;
  /** Removes every namespace (and so every link) this network made. */
  destroy(): void;
}

function ip(...args: string[]): string {
  return execFileSync("ip", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 10_000 });
}

/** Fails with a message that says why when `ip netns` cannot be used here (not root, no iproute2). */
export function checkNetns(): void {
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip("netns", "add", probe);
    ip("netns", "del", probe);
  } catch (err) {
    throw new Error(
      `the multi-host test needs Linux network namespaces: \`ip netns add ${probe}\` failed ` +
        `(run as root with iproute2 installed): ${(err as { stderr?: string }).stderr ?? (err as Error).message}`,
    );
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Kills what runs in a namespace and deletes it. */
function removeNamespace(ns: string): void {
  try {
    for (const pid of ip("netns", "pids", ns).split(/\s+/).filter(Boolean)) {
      try {
        process.kill(Number(pid), "SIGKILL");
      } catch {
        // Already gone.
      }
    }
  } catch {
    // No such namespace.
  }
  try {
    ip("netns", "del", ns);
  } catch {
    // Already gone.
  }
}

/** Namespaces left by an earlier run that crashed (its pid is gone); concurrent runs are left alone. */
export function cleanLeftovers(log: (line: string) => void): void {
  const names = ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(PREFIX));
  for (const ns of names) {
    const pid = Number(/^tsmicro-mh(\d+)-/.exec(ns)?.[1]);
    if (Number.isInteger(pid) && alive(pid) && pid !== process.pid) continue;
    log(`removing leftover namespace ${ns}`);
    removeNamespace(ns);
  }
}

/** Builds the network: `roles` become hosts .1, .2, ... on a random 10.x.y.0/24. */
export function createNetwork(roles: readonly string[]): Network {
  const a = 100 + (process.pid % 100);
  const b = Math.floor(Math.random() * 250) + 1;
  const subnet = `10.${a}.${b}`;
  const bridgeNs = `${PREFIX}${process.pid}-br`;
  const made: string[] = [];
  const hosts: Record<string, Host> = {};
  const destroy = () => {
    for (const ns of made.reverse()) removeNamespace(ns);
    made.length = 0;
  };
  try {
    ip("netns", "add", bridgeNs);
    made.push(bridgeNs);
    ip("-n", bridgeNs, "link", "add", "br0", "type", "bridge");
    ip("-n", bridgeNs, "link", "set", "br0", "up");
    roles.forEach((role, i) => {
      const ns = `${PREFIX}${process.pid}-${role}`;
      const port = `v-${role}`;
      const addr = `${subnet}.${i + 1}`;
      ip("netns", "add", ns);
      made.push(ns);
      // IPv4 only: no automatic IPv6 link-local addresses either (where the kernel has IPv6).
      const v6 = "/proc/sys/net/ipv6/conf";
      execFileSync(
        "ip",
        [
          "netns",
          "exec",
          ns,
          "sh",
          "-c",
          `[ ! -d ${v6} ] || { echo 1 > ${v6}/all/disable_ipv6 && echo 1 > ${v6}/default/disable_ipv6; }`,
        ],
        { stdio: "ignore", timeout: 10_000 },
      );
      ip("-n", ns, "link", "set", "lo", "up");
      // Both ends are created inside namespaces: the machine's own stack never sees them.
      ip("-n", ns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", bridgeNs);
      ip("-n", ns, "addr", "add", `${addr}/24`, "dev", "eth0");
      ip("-n", ns, "link", "set", "eth0", "up");
      ip("-n", bridgeNs, "link", "set", port, "master", "br0");
      ip("-n", bridgeNs, "link", "set", port, "up");
      hosts[role] = { role, ns, ip: addr, port };
    });
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    subnet: `${subnet}.0/24`,
    hosts,
    bridgeNs,
    link(role, up) {
      const h = hosts[role];
      if (h === undefined) throw new Error(`no host ${role}`);
      ip("-n", bridgeNs, "link", "set", h.port, up ? "up" : "down");
    },
    destroy,
  };
}

/**
 * What each host can reach: its addresses (besides loopback) and its routes. The test checks
 * that every host has its bridge address only and no default route.
 */
export function describeHost(host: Host): { addresses: string[]; routes: string[] } {
  const addresses = ip("-n", host.ns, "-o", "addr", "show")
    .split("\n")
    .filter((l) => l.trim() !== "" && !/ lo /.test(l))
    .map((l) => l.split(/\s+/)[3] ?? "");
  const routes = ip("-n", host.ns, "route", "show")
    .split("\n")
    .filter((l) => l.trim() !== "");
  return { addresses, routes };
}

/** The namespaces that exist now with this run's prefix (to check that destroy() left none). */
export function ownNamespaces(): string[] {
  return ip("netns", "list")
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n.startsWith(`${PREFIX}${process.pid}-`));
}
