/** Captures the registry's refusal log (registry/validate.ts) for the tests of the enclosing suite. */
import { afterEach, beforeEach } from "node:test";
import { registryRefusals } from "../../src/registry/validate.js";

/** The messages logged during the current test; the real log is put back after each. */
export function captureRefusals(): string[] {
  const logged: string[] = [];
  const original = registryRefusals.log;
  beforeEach(() => {
    logged.length = 0;
    registryRefusals.log = (m) => logged.push(m);
  });
  afterEach(() => {
    registryRefusals.log = original;
  });
  return logged;
}
