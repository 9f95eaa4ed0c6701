// Counts of live timers and sockets, for the leak check: after a scenario has closed
// everything it opened, the counts must come back to where they were.
const KINDS = ["Timeout", "TCPSocketWrap", "TCPServerWrap"] as const;
export type Resources = Record<(typeof KINDS)[number], number>;

export function resources(): Resources {
  const out: Resources = { Timeout: 0, TCPSocketWrap: 0, TCPServerWrap: 0 };
  for (const r of process.getActiveResourcesInfo()) if (r in out) out[r as keyof Resources]++;
  return out;
}

/** Waits up to `ms` for the counts to fall back to `baseline`; returns what is still above it. */
export async function leftOver(baseline: Resources, ms: number): Promise<string[]> {
  const end = Date.now() + ms;
  for (;;) {
    const now = resources();
    const over = KINDS.filter((k) => now[k] > baseline[k]).map((k) => `${now[k] - baseline[k]} × ${k}`);
    if (over.length === 0 || Date.now() >= end) return over;
    await new Promise((r) => setTimeout(r, 20));
  }
}
