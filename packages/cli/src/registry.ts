/**
 * The registry the CLI reads, chosen as a service chooses it: MICRO_REGISTRY and
 * MICRO_REGISTRY_ADDRESS (or `--registry` and `--registry-address`, which stand for them):
 * `local` (the default; the address is its directory) and `memory` from the core, any other
 * kind from its package `@tsmicro/<kind>`, which exports `createRegistryFromAddress`.
 */
import {
  createLocalRegistry,
  createMemoryRegistry,
  defaultRegistry,
  MicroError,
  type Registry,
} from "tsmicro";

export interface RegistryChoice {
  kind?: string | undefined;
  address?: string | undefined;
}

/** Writes the flags into the environment, so that everything chosen from it afterwards agrees. */
export function applyRegistryFlags(choice: RegistryChoice, env: NodeJS.ProcessEnv = process.env): void {
  if (choice.kind !== undefined) env.MICRO_REGISTRY = choice.kind;
  if (choice.address !== undefined) env.MICRO_REGISTRY_ADDRESS = choice.address;
}

export async function selectRegistry(
  choice: RegistryChoice = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<Registry> {
  const flagged = choice.kind !== undefined || choice.address !== undefined;
  if (!flagged) {
    // Nothing on the command line: exactly the registry a service in this environment gets.
    const registry = defaultRegistry();
    if (!registry.name.startsWith("unavailable")) return registry;
  }
  const kind = (choice.kind ?? env.MICRO_REGISTRY ?? "local").toLowerCase() || "local";
  const address = choice.address ?? (env.MICRO_REGISTRY_ADDRESS || undefined);
  if (kind === "local") return createLocalRegistry(address === undefined ? {} : { dir: address });
  if (kind === "memory") return createMemoryRegistry();
  return loadRegistry(kind, address);
}

async function loadRegistry(kind: string, address: string | undefined): Promise<Registry> {
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
      detail: `${specifier} does not export createRegistryFromAddress(); it cannot be chosen as a registry`,
      retryable: false,
    });
  }
  return mod.createRegistryFromAddress(address);
}
