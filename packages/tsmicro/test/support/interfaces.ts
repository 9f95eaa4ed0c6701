/** Stand-in network interfaces for the advertised-address rule (transport/address.ts). */
import type { NetworkInterfaceInfo } from "node:os";

export const v4 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: "255.255.255.0",
  family: "IPv4",
  mac: "02:00:00:00:00:01",
  internal,
  cidr: `${address}/24`,
});

export const v6 = (address: string, internal = false): NetworkInterfaceInfo => ({
  address,
  netmask: "ffff:ffff:ffff:ffff::",
  family: "IPv6",
  mac: "02:00:00:00:00:01",
  internal,
  cidr: `${address}/64`,
  scopeid: 0,
});

/** A host with nothing but loopback. */
export const loopbackOnly = () => ({ lo: [v4("127.0.0.1", true), v6("::1", true)] });
