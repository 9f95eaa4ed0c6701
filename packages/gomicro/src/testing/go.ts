/**
 * Builds the Go programs under test/go (go-micro v4.10.2 and its plugins, pinned by go.mod)
 * once per source hash, and runs them as child processes that are always killed.
 *
 * The build is cached in node_modules/.cache/tsmicro-gomicro/<hash>/: the hash covers go.mod,
 * go.sum, every .go file and the Go version, so editing a program rebuilds it and nothing else
 * does. Concurrent test files wait for one build (a lock directory) instead of racing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

// src/testing or dist/testing: the package root is two levels up either way.
const packageRoot = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** The Go programs (go-micro v4.10.2 services and clients) the interop tests and the demo run. */
export const goSources = join(packageRoot, "test", "go");
const repoRoot = join(packageRoot, "..", "..");
const cacheRoot = join(repoRoot, "node_modules", ".cache", "tsmicro-gomicro");

/** The go binary: $GO, /usr/local/go/bin/go, or `go` on PATH. Throws naming where it looked. */
export function goBinary(): string {
  const candidates = [process.env.GO, "/usr/local/go/bin/go", "go"].filter((c): c is string => !!c);
  for (const c of candidates) {
    try {
      execFileSync(c, ["version"], { stdio: "ignore", timeout: 10_000 });
      return c;
    } catch {}
  }
  throw new Error(`no Go toolchain: tried ${candidates.join(", ")} (scripts/services.sh installs one)`);
}

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sourceFiles(p, out);
    else if (name.endsWith(".go") || name === "go.mod" || name === "go.sum") out.push(p);
  }
  return out;
}

export interface GoBuild {
  /** Directory holding one executable per program (seed, greeter, caller, ...). */
  readonly binDir: string;
  /** True when this run found the binaries already built. */
  readonly cached: boolean;
  /** Time this run spent building (or finding the cache), ms. */
  readonly ms: number;
  /** How long the build that produced the binaries took, ms. */
  readonly buildMs: number;
}

let building: Promise<GoBuild> | undefined;

/** Builds every program once per run (and once per source hash across runs). */
export function buildGoPrograms(options: { timeoutMs?: number } = {}): Promise<GoBuild> {
  building ??= build(options.timeoutMs ?? 600_000);
  return building;
}

async function build(timeoutMs: number): Promise<GoBuild> {
  const t0 = Date.now();
  const go = goBinary();
  const hash = createHash("sha256");
  hash.update(execFileSync(go, ["version"], { encoding: "utf8" }));
  for (const f of sourceFiles(goSources)) {
    hash.update(relative(goSources, f));
    hash.update(readFileSync(f));
  }
  const key = hash.digest("hex").slice(0, 16);
  const binDir = join(cacheRoot, key);
  const stamp = join(binDir, "build.json");
  mkdirSync(cacheRoot, { recursive: true });
  const lock = join(cacheRoot, `${key}.lock`);
  const end = t0 + timeoutMs;
  for (;;) {
    if (existsSync(stamp)) {
      const { buildMs } = JSON.parse(readFileSync(stamp, "utf8")) as { buildMs: number };
      const r = { binDir, cached: true, ms: Date.now() - t0, buildMs };
      console.error(
        `gomicro: Go programs cached (${key}), found in ${r.ms} ms; first build took ${buildMs} ms`,
      );
      return r;
    }
    try {
      mkdirSync(lock);
      break;
    } catch {
      // Another test file is building; a lock older than the timeout is left over from a killed run.
      if (Date.now() - statSync(lock).mtimeMs > timeoutMs) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > end)
        throw new Error(`timed out after ${timeoutMs} ms waiting for another Go build (${lock})`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    const tmp = `${binDir}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    await run(go, ["build", "-trimpath", "-o", tmp, "./..."], timeoutMs);
    const buildMs = Date.now() - t0;
    writeFileSync(join(tmp, "build.json"), JSON.stringify({ buildMs, key, at: new Date().toISOString() }));
    rmSync(binDir, { recursive: true, force: true });
    renameSync(tmp, binDir);
    console.error(`gomicro: built Go programs (${key}) in ${buildMs} ms`);
    return { binDir, cached: false, ms: buildMs, buildMs };
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[], timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // GOFLAGS=-mod=readonly: the committed go.sum is the truth; a build never edits it.
    const child = spawn(cmd, args, {
      cwd: goSources,
      env: { ...process.env, GOFLAGS: "-mod=readonly", CGO_ENABLED: "0" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (d: Buffer) => {
      err += d.toString();
    });
    const t = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("exit", (code, signal) => {
      clearTimeout(t);
      if (code === 0) resolve();
      else reject(new Error(`${cmd} ${args.join(" ")} failed (${signal ?? code}) in ${goSources}:\n${err}`));
    });
  });
}

const live = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of live) c.kill("SIGKILL");
});

export interface GoProcess {
  readonly child: ChildProcess;
  /** Everything printed so far. */
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Waits for a stdout line that parses as JSON and satisfies `match`. */
  json<T = Record<string, unknown>>(what: string, ms: number, match?: (v: T) => boolean): Promise<T>;
  /** Waits for the process to exit; rejects after `ms` naming `what`. */
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGKILL, and waits for the exit (bounded). Safe to call twice. */
  kill(): Promise<void>;
}

/**
 * Starts one of the built programs. The environment pins go-micro to loopback: the programs
 * pass their registry and broker explicitly and never parse MICRO_* flags, and the variables
 * below make any accidental fallback fail instead of multicasting (mdns).
 */
export function startGo(
  build: GoBuild,
  program: string,
  args: string[],
  env: Record<string, string> = {},
): GoProcess {
  const child = spawn(join(build.binDir, program), args, {
    env: {
      PATH: process.env.PATH ?? "",
      GOTRACEBACK: "all",
      MICRO_REGISTRY: "memory",
      MICRO_SERVER_ADDRESS: "127.0.0.1:0",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  let err = "";
  const waiters = new Set<() => void>();
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
      for (const w of waiters) w();
    });
  });
  child.stdout!.on("data", (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  });
  child.stderr!.on("data", (d: Buffer) => {
    err += d.toString();
  });
  const bounded = <T>(p: Promise<T>, ms: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(
        () =>
          reject(
            new Error(
              `timed out after ${ms} ms waiting for ${what} (${program} stderr: ${err.slice(-2000)})`,
            ),
          ),
        ms,
      );
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e) => {
          clearTimeout(t);
          reject(e);
        },
      );
    });
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    json<T>(what: string, ms: number, match: (v: T) => boolean = () => true) {
      const find = (): T | undefined => {
        for (const line of out.split("\n")) {
          if (!line.startsWith("{")) continue;
          try {
            const v = JSON.parse(line) as T;
            if (match(v)) return v;
          } catch {}
        }
        return undefined;
      };
      return bounded(
        new Promise<T>((resolve, reject) => {
          const check = () => {
            const v = find();
            if (v !== undefined) {
              waiters.delete(check);
              resolve(v);
            } else if (child.exitCode !== null || child.signalCode !== null) {
              waiters.delete(check);
              reject(
                new Error(
                  `${program} exited (${child.exitCode ?? child.signalCode}) before ${what}: ${err.slice(-2000)}`,
                ),
              );
            }
          };
          waiters.add(check);
          check();
        }),
        ms,
        what,
      );
    },
    exited: (ms) => bounded(exit, ms, `${program} to exit`),
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await bounded(exit, 5000, `${program} to die after SIGKILL`);
    },
  };
}
