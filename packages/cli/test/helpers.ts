/** Test helpers: a demo service in its own process, and the real `tsmicro` bin run as a process. */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

export const BIN = new URL("../bin/tsmicro.mjs", import.meta.url).pathname;
const DEMO = new URL("./fixtures/demo.mjs", import.meta.url).pathname;

export interface Demo {
  readonly name: string;
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly address: string;
  readonly node: string;
  stop(): Promise<void>;
}

/** The first stdout line of `child` that parses as JSON with `key`, within `ms`. */
export function jsonLine<T>(child: ChildProcess, key: string, ms: number, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms);
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      try {
        const v = JSON.parse(line);
        if (v && key in v) {
          clearTimeout(timer);
          lines.close();
          resolve(v as T);
        }
      } catch {}
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what}: the process exited with ${code}`));
    });
  });
}

/** Starts the demo service on a fresh local registry directory (or the registry `overrides` name). */
export async function startDemo(name = "demo", overrides: NodeJS.ProcessEnv = {}): Promise<Demo> {
  const dir = mkdtempSync(join(tmpdir(), "tsmicro-cli-"));
  const env = {
    ...process.env,
    MICRO_REGISTRY: "local",
    MICRO_REGISTRY_ADDRESS: dir,
    MICRO_BROKER: "http",
    ...overrides,
  };
  const child = spawn(process.execPath, [DEMO, name], { env, stdio: ["ignore", "pipe", "inherit"] });
  const ready = await jsonLine<{ ready: string; node: string }>(
    child,
    "ready",
    15_000,
    "the demo service to start",
  );
  return {
    name,
    dir,
    env,
    address: ready.ready,
    node: ready.node,
    async stop() {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
      await exited;
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `tsmicro ...args` to completion (bounded), with `env`. */
export function tsmicro(args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs = 20_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
      resolve({ code, stdout, stderr });
    });
  });
}
