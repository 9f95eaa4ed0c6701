/** `MICRO_REGISTRY=nats` with `MICRO_REGISTRY_ADDRESS` (comma-separated servers): tsmicro's registryFromEnv imports this. */
import type { Registry } from "tsmicro";
import type { RegistryFromAddress } from "tsmicro/plugin";
import { createNatsRegistry } from "./registry.js";

export const registryFromAddress: RegistryFromAddress = (kind, options): Registry => {
  if (kind !== "nats") throw new TypeError(`@tsmicro/nats provides the registry "nats", not "${kind}"`);
  const servers = options.address
    ?.split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  return createNatsRegistry(servers && servers.length > 0 ? { servers } : {});
};
