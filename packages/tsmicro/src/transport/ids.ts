/**
 * Request and stream ids on one client connection: 32-bit, never 0 (id 0 is the connection's
 * own frames: GoAway, refusals), reused only after they wrap and only when free.
 */
export const MAX_ID = 0xffff_ffff;

/** The id after `id`, wrapping from MAX_ID to 1. */
export function idAfter(id: number): number {
  return id === MAX_ID ? 1 : id + 1;
}

/** The first id from `start` on (wrapping) that is not in use. */
export function freeId(start: number, inUse: (id: number) => boolean): number {
  let id = start;
  while (inUse(id)) id = idAfter(id);
  return id;
}
