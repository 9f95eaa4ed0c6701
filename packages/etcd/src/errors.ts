import { MicroError } from "tsmicro";

/** etcd could not be reached or refused: a 503 naming the registry and what it was doing. */
export function unavailable(what: string, cause?: unknown): MicroError {
  const why = cause === undefined ? "" : `: ${(cause as Error)?.message ?? String(cause)}`;
  return new MicroError({ id: "tsmicro.registry", code: 503, detail: `${what}${why}`, cause });
}
