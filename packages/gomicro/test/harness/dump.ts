/** Reads a Go goroutine dump (runtime.Stack(all) or SIGQUIT's) into blocks: state and frames. */
export interface Goroutine {
  id: number;
  /** What it waits on, e.g. `sync.RWMutex.RLock`, `IO wait`, `select`. */
  state: string;
  /** The stack text, innermost frame first. */
  stack: string;
}

export function parseGoroutineDump(text: string): Goroutine[] {
  const out: Goroutine[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const m = /^goroutine (\d+)[^[]*\[([^\]]+)\]:\n([\s\S]*)$/.exec(block.trim());
    if (m) out.push({ id: Number(m[1]), state: m[2]!.split(",")[0]!.trim(), stack: m[3]! });
  }
  return out;
}

/** The last dump between the seed program's markers in `stderr`, or undefined. */
export function lastDump(stderr: string): string | undefined {
  const start = stderr.lastIndexOf("=== goroutine dump ===\n");
  if (start < 0) return undefined;
  const end = stderr.indexOf("=== end of goroutine dump ===", start);
  return end < 0 ? undefined : stderr.slice(start + 23, end);
}

/** The lock picture of go-micro's rpcClient in a dump: calls waiting to read, Init waiting to write. */
export function rpcClientLocks(dump: string) {
  const gs = parseGoroutineDump(dump);
  const readers = gs.filter(
    (g) => g.state === "sync.RWMutex.RLock" && g.stack.includes("client.(*rpcClient)."),
  );
  const writers = gs.filter(
    (g) => g.state === "sync.RWMutex.Lock" && g.stack.includes("client.(*rpcClient).Init"),
  );
  return { goroutines: gs.length, readers, writers };
}

/** A short excerpt for reports: the first frames of one goroutine, without addresses. */
export function excerpt(g: Goroutine, frames = 12): string {
  return `goroutine ${g.id} [${g.state}]:\n${g.stack
    .split("\n")
    .slice(0, frames * 2)
    .map((l) => l.replace(/\(0x[^)]*\)/g, "(...)").replace(/ \+0x[0-9a-f]+$/, ""))
    .join("\n")}`;
}
