/**
 * The registry the CLI reads, chosen exactly as a service chooses it: `--registry` and
 * `--registry-address` stand for MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS, then the core's
 * `defaultRegistry()` decides. A backend the core does not build in (etcd, nats) is loaded from
 * its package (`@tsmicro/<kind>`, which exports `createRegistryFromAddress`).
 */
import { defaultRegistry, MicroError, type Registry } from "tsmicro";

export interface RegistryChoice {
  kind?: string | undefined;
  address?: string | undefined;
}

/** Applies the flags to the environment, so the registry, the broker and child code all agree. */
export function applyRegistryFlags(choice: RegistryChoice, env: NodeJS.ProcessEnv = process.env): void {
  if (choice.kind !== undefined) env.MICRO_REGISTRY = choice.kind;
  if (choice.address !== undefined) env.MICRO_REGISTRY_ADDRESS = choice.address;
}

export async function selectRegistry(env: NodeJS.ProcessEnv = process.env): Promise<Registry> {
  const registry = defaultRegistry();
  if (!registry.name.startsWith("unavailable")) return registry;
  const kind = (env.MICRO_REGISTRY ?? "").toLowerCase();
  const specifier = `@tsmicro/${kind}`;
  let mod: { createRegistryFromAddress?: (address?: string) => Registry };
  try {
    mod = await import(specifier);
  } catch (err) {
    throw new MicroError({
      id: "tsmicro",
      code: 500,
      detail: `registry "${kind}" needs the package ${specifier}, which could not be loaded (${(err as Error).message}); built in: local, memory`,
      retryable: false,
    });
  }
  if (typeof mod.createRegistryFromAddress !== "function") {
    throw new MicroError({
      id: "tsmicro",
      code: 500,
      detail: `${specifier} does not export createRegistryFromAddress(); it cannot be chosen with --registry ${kind}`,
      retryable: false,
    });
  }
  return mod.createRegistryFromAddress(env.MICRO_REGISTRY_ADDRESS || undefined);
}
