/** The level an outcome is logged at. */
import type { Level } from "pino";
import { MicroError } from "tsmicro";

/** The level a call's outcome is logged at: only what an operator should look at is above info. */
export function levelFor(err: unknown): Level {
  if (err === undefined) return "debug";
  const code = MicroError.from(err).code;
  if (code === 408 || code === 429 || code === 499 || code === 503 || code === 504) return "warn";
  if (code >= 500) return "error";
  return "info";
}
