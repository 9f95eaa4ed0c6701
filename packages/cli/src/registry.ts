/**
 * The registry the CLI reads, chosen exactly as a service chooses it (the core's
 * `registryFromEnv`): MICRO_REGISTRY and MICRO_REGISTRY_ADDRESS, for which `--registry` and
 * `--registry-address` stand. `local` and `memory` are built in; `etcd` and `nats` load from
 * their packages on first use.
 */
import { defaultRegistry, type Registry } from "tsmicro";
import { registryFromEnv } from "tsmicro/plugin";

export interface RegistryChoice {
  kind?: string | undefined;
  address?: string | undefined;
}

/** Writes the flags into the environment, so that everything chosen from it afterwards agrees. */
export function applyRegistryFlags(choice: RegistryChoice, env: NodeJS.ProcessEnv = process.env): void {
  if (choice.kind !== undefined) env.MICRO_REGISTRY = choice.kind;
  if (choice.address !== undefined) env.MICRO_REGISTRY_ADDRESS = choice.address;
}

export function selectRegistry(choice: RegistryChoice = {}): Registry {
  // Nothing on the command line: the very registry a service in this environment gets.
  if (choice.kind === undefined && choice.address === undefined) return defaultRegistry();
  return registryFromEnv({
    ...(choice.kind === undefined ? {} : { kind: choice.kind }),
    ...(choice.address === undefined ? {} : { address: choice.address }),
  });
}
