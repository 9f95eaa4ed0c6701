import type { MicroError } from "../errors.js";

const TRANSPORT_FAILURE = Symbol("tsmicro.transportFailure");

/**
 * Marks an error as a failure to reach the node (dial refused, connection lost), as opposed
 * to an answer from it. The selector ejects nodes on these; not a wire field.
 */
export function markTransportFailure(err: MicroError): MicroError {
  Object.defineProperty(err, TRANSPORT_FAILURE, { value: true });
  return err;
}

export function isTransportFailure(err: unknown): boolean {
  return (
    typeof err === "object" && err !== null && (err as Record<symbol, unknown>)[TRANSPORT_FAILURE] === true
  );
}
